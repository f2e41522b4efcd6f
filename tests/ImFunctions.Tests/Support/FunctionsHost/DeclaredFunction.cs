using System.Text.Json;
using ImFunctions.Tests.Support.FunctionsHost.Rpc;

namespace ImFunctions.Tests.Support.FunctionsHost;

/// <summary>A function as the worker's metadata declared it (what the host indexes and Azure lists).</summary>
public sealed record DeclaredFunction(string Name, string FunctionId, string ScriptFile, string EntryPoint, IReadOnlyList<DeclaredBinding> Bindings)
{
    public DeclaredBinding? HttpTrigger => Bindings.SingleOrDefault(b => b.Type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase));

    // The worker's own copy, handed back unchanged in the FunctionLoadRequest.
    internal RpcFunctionMetadata Rpc { get; init; } = null!;

    internal static DeclaredFunction From(RpcFunctionMetadata rpc) => new(
        rpc.Name,
        rpc.FunctionId is { Length: > 0 } id ? id : Guid.NewGuid().ToString(),   // the host makes one up when the worker gives none
        rpc.ScriptFile,
        rpc.EntryPoint,
        rpc.RawBindings.Select(DeclaredBinding.Parse).ToList()) { Rpc = rpc };
}

/// <summary>One binding of <c>functions.metadata</c> / the worker's raw bindings, as the host reads it.</summary>
public sealed record DeclaredBinding(string Name, string Type, string Direction, IReadOnlyList<string> Methods, string? AuthLevel, string? Route)
{
    internal static DeclaredBinding Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var b = doc.RootElement;
        string? Text(string name) => TryGet(b, name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var methods = TryGet(b, "methods", out var m) && m.ValueKind == JsonValueKind.Array
            ? m.EnumerateArray().Select(x => x.GetString()!).ToList()
            : [];
        return new(Text("name") ?? "", Text("type") ?? "", Text("direction") ?? "", methods, Text("authLevel"), Text("route"));
    }

    // The host reads binding JSON case-insensitively ("authLevel", "AuthLevel" both occur in the wild).
    static bool TryGet(JsonElement e, string name, out JsonElement value)
    {
        foreach (var p in e.EnumerateObject())
            if (p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) { value = p.Value; return true; }
        value = default;
        return false;
    }

    internal BindingInfo ToRpc() => new()
    {
        Type = Type,
        Direction = Direction.ToLowerInvariant() switch
        {
            "out" => BindingInfo.Types.Direction.Out,
            "inout" => BindingInfo.Types.Direction.Inout,
            _ => BindingInfo.Types.Direction.In,
        },
    };
}
