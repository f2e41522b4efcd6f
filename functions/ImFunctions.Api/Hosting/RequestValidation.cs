using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;

namespace ImFunctions.Api.Hosting;

/// <summary>How every request validator behaves: the first failure of a rule stops it, and messages name wire fields.</summary>
public static class RequestValidation
{
    public static void Configure()
    {
        ValidatorOptions.Global.DefaultRuleLevelCascadeMode = CascadeMode.Stop;   // a rule's later checks assume its earlier ones passed
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : WireNames.Of(member);
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => member is null ? null : WireNames.Of(member);
    }
}

/// <summary>
/// Field names in messages are the wire names (to_uid, appId), not the C# ones. FluentValidation asks for a rule's
/// name each time the rule runs, so each member's name is worked out (attributes read, snake_cased) once.
/// </summary>
static class WireNames
{
    static readonly ConcurrentDictionary<MemberInfo, string> Names = new();

    public static string Of(MemberInfo member) => Names.GetOrAdd(member, static m =>
        m.GetCustomAttributes(typeof(JsonPropertyNameAttribute), true).OfType<JsonPropertyNameAttribute>().FirstOrDefault()?.Name
        ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(m.Name));
}
