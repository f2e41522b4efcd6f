using System.Text;
using System.Text.Json;
using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Messages;

/// <summary>
/// The text a message is found by, as both stores index it: lower-cased (invariant), so a lower-cased keyword finds it
/// whatever its case. A revoked message has none, so no index can find it again.
/// </summary>
public static class MessageSearchText
{
    public const int MaxChars = 4096;

    public static string Of(Message message)
    {
        if (message.IsRevoke || message.Body.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return "";
        var text = message.Type switch
        {
            MessageBodyRules.Text or MessageBodyRules.Code when message.Body.ValueKind == JsonValueKind.String => message.Body.GetString()!,
            MessageBodyRules.RichText => RichText(message.Body),
            MessageBodyRules.Image or MessageBodyRules.Video or MessageBodyRules.File or MessageBodyRules.Location
                or MessageBodyRules.UserinfoCard => Names(message.Body),
            _ => "",
        };
        text = text.ToLowerInvariant();
        return text.Length <= MaxChars ? text : text[..MaxChars];
    }

    public static string Keyword(string keyword) => keyword.Trim().ToLowerInvariant();

    static string RichText(JsonElement nodes)
    {
        var text = new StringBuilder();
        Append(nodes, text);
        return text.ToString();

        static void Append(JsonElement nodes, StringBuilder text)
        {
            if (nodes.ValueKind != JsonValueKind.Array) return;
            foreach (var node in nodes.EnumerateArray())
            {
                if (node.ValueKind != JsonValueKind.Object) continue;
                if (node.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String) text.Append(t.GetString());
                if (node.TryGetProperty("children", out var children)) Append(children, text);
            }
        }
    }

    static string Names(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object) return "";
        var parts = new[] { "name", "address" }
            .Select(n => body.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null)
            .OfType<string>();
        return string.Join(" ", parts);
    }
}
