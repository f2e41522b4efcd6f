using System.Text.Json;
using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Messages;

/// <summary>
/// What a client may send (SPEC §11): the types, and for each one the body's exact shape. Anything not listed here is
/// refused, so control types (<c>system</c>, <c>clear-conversation-unreadCount</c>, ...) can only come from the server,
/// and a body never carries a field a renderer did not expect. URLs are https only.
/// </summary>
public static class MessageBodyRules
{
    public const string Text = "text", Image = "image", Sound = "sound", Video = "video", File = "file", Location = "location",
        Code = "code", RichText = "rich-text", UserinfoCard = "userinfo-card", History = "history", RevokeMsg = "revoke_msg";

    /// <summary>The types a client may send (revoke_msg is an alias of revokeMsg, handled before these rules).</summary>
    public static readonly string[] ClientTypes = [Text, Image, Sound, Video, File, Location, Code, RichText, UserinfoCard, History];

    /// <summary>The types editMsg may change.</summary>
    public static readonly string[] EditableTypes = [Text, RichText, Code];

    public const int MaxUrlLength = 2048, MaxNameLength = 255, MaxAddressLength = 500;
    public const int MaxRichTextNodes = 500, MaxRichTextDepth = 8, MaxForwardedMessages = 50;

    static readonly HashSet<string> RichTextTags = new(StringComparer.Ordinal)
    {
        "p", "div", "span", "br", "b", "strong", "i", "em", "u", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li", "img", "a",
    };

    // No style, no on* handlers, no arbitrary class names' friends: what uni-im's renderer uses and nothing that runs or loads.
    static readonly HashSet<string> RichTextAttributes = new(StringComparer.Ordinal)
    {
        "class", "user_id", "nickname", "src", "href", "width", "height", "alt", "title",
    };

    public static ImError? Validate(string type, JsonElement body, int maxBytes)
    {
        if (body.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return ImError.InvalidParam("body", "is required");
        // Measured as we store it, so a client's choice of escaping does not change what fits.
        if (JsonSerializer.SerializeToUtf8Bytes(body, ImJson.Options).Length > maxBytes)
            return ImError.InvalidParam("body", $"is larger than {maxBytes} bytes");
        var problem = type switch
        {
            Text or Code => NonEmptyString(body),
            Image => body.ValueKind == JsonValueKind.String ? HttpsUrl(body, "body")
                : Shape(body, required: ["url"], optional: ["width", "height", "size", "name"]),
            Sound => Shape(body, required: ["url", "time"], optional: []),
            Video => Shape(body, required: ["url"], optional: ["size", "name", "width", "height", "poster", "duration"]),
            File => Shape(body, required: ["url", "size", "name"], optional: []),
            Location => Shape(body, required: ["latitude", "longitude"], optional: ["name", "address"]),
            RichText => RichTextNodes(body),
            UserinfoCard => Shape(body, required: ["user_id"], optional: []),
            History => Shape(body, required: ["msg_ids", "conversation_id"], optional: []),
            _ => $"type: '{type}' cannot be sent by a client; use one of: {string.Join(", ", ClientTypes)}",
        };
        return problem switch
        {
            null => null,
            _ when problem.StartsWith("type:", StringComparison.Ordinal) => ImError.InvalidParam("type", problem["type: ".Length..]),
            _ => ImError.InvalidParam("body", $"{problem} (type {type})"),
        };
    }

    static string? NonEmptyString(JsonElement body) =>
        body.ValueKind == JsonValueKind.String && body.GetString()!.Trim().Length > 0 ? null : "must be a non-empty string";

    /// <summary>An object with exactly these fields (the optional ones may be absent or null), each checked by name.</summary>
    static string? Shape(JsonElement body, string[] required, string[] optional)
    {
        if (body.ValueKind != JsonValueKind.Object) return "must be an object";
        foreach (var property in body.EnumerateObject())
        {
            var known = required.Contains(property.Name) || optional.Contains(property.Name);
            if (!known) return $"{property.Name} is not a field of this type";
            if (property.Value.ValueKind == JsonValueKind.Null && optional.Contains(property.Name)) continue;
            if (Field(property.Name, property.Value) is { } problem) return problem;
        }
        foreach (var name in required)
            if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return $"{name} is required";
        return null;
    }

    static string? Field(string name, JsonElement value) => name switch
    {
        "url" or "poster" => HttpsUrl(value, name),
        "width" or "height" or "size" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n >= 0
            ? null : $"{name} must be a whole number >= 0",
        "time" or "duration" => value.ValueKind == JsonValueKind.Number && value.GetDouble() is >= 0 and <= 86_400
            ? null : $"{name} must be a number of seconds between 0 and 86400",
        "latitude" => Coordinate(value, name, 90),
        "longitude" => Coordinate(value, name, 180),
        "name" => BoundedString(value, name, MaxNameLength),
        "address" => BoundedString(value, name, MaxAddressLength),
        "user_id" or "conversation_id" => BoundedString(value, name, 128),
        "msg_ids" => value.ValueKind == JsonValueKind.Array && value.GetArrayLength() is > 0 and <= MaxForwardedMessages
            && value.EnumerateArray().All(id => id.ValueKind == JsonValueKind.String && id.GetString()!.Length is > 0 and <= 64)
            ? null : $"msg_ids must be 1 to {MaxForwardedMessages} message ids",
        _ => $"{name} is not a field of this type",
    };

    static string? Coordinate(JsonElement value, string name, double bound) =>
        value.ValueKind == JsonValueKind.Number && Math.Abs(value.GetDouble()) <= bound ? null : $"{name} must be a number within ±{bound}";

    static string? BoundedString(JsonElement value, string name, int max) =>
        value.ValueKind == JsonValueKind.String && value.GetString()!.Length is > 0 and var length && length <= max
            ? null : $"{name} must be a string of 1 to {max} characters";

    static string? HttpsUrl(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.String && IsHttpsUrl(value.GetString()!) ? null : $"{name} must be an https URL";

    /// <summary>https and nothing else: not http:, javascript:, data:, blob:, relative paths or URLs with spaces.</summary>
    public static bool IsHttpsUrl(string text) =>
        text.Length <= MaxUrlLength && !text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
        && Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps && uri.Host.Length > 0;

    /// <summary>uni-im's node array: <c>{type:"text", text}</c> or <c>{name, attrs?, children?}</c>, whitelisted names and attributes.</summary>
    static string? RichTextNodes(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Array || body.GetArrayLength() == 0) return "must be a non-empty array of nodes";
        var count = 0;
        return Nodes(body, 1, ref count);
    }

    static string? Nodes(JsonElement nodes, int depth, ref int count)
    {
        if (depth > MaxRichTextDepth) return $"nests deeper than {MaxRichTextDepth} levels";
        foreach (var node in nodes.EnumerateArray())
        {
            if (++count > MaxRichTextNodes) return $"has more than {MaxRichTextNodes} nodes";
            if (Node(node, depth, ref count) is { } problem) return problem;
        }
        return null;
    }

    static string? Node(JsonElement node, int depth, ref int count)
    {
        if (node.ValueKind != JsonValueKind.Object) return "nodes must be objects";
        if (node.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text")
        {
            foreach (var property in node.EnumerateObject())
                if (property.Name is not ("type" or "text")) return $"a text node has no field {property.Name}";
            return node.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String ? null : "a text node needs a string text";
        }

        if (!node.TryGetProperty("name", out var nameValue) || nameValue.ValueKind != JsonValueKind.String)
            return "a node needs a name or type 'text'";
        var name = nameValue.GetString()!;
        if (!RichTextTags.Contains(name)) return $"node name '{name}' is not allowed";
        foreach (var property in node.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name":
                    break;
                case "type" when property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() == "node":
                    break;
                case "attrs":
                    if (Attributes(name, property.Value) is { } bad) return bad;
                    break;
                case "children":
                    if (property.Value.ValueKind != JsonValueKind.Array) return "children must be an array";
                    if (Nodes(property.Value, depth + 1, ref count) is { } inner) return inner;
                    break;
                default:
                    return $"a node has no field {property.Name}";
            }
        }
        return null;
    }

    static string? Attributes(string tag, JsonElement attrs)
    {
        if (attrs.ValueKind != JsonValueKind.Object) return "attrs must be an object";
        foreach (var attr in attrs.EnumerateObject())
        {
            if (!RichTextAttributes.Contains(attr.Name)) return $"attribute '{attr.Name}' is not allowed";
            if (attr.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Number)) return $"attribute '{attr.Name}' must be a string or number";
            var text = attr.Value.ToString();
            if (text.Length > MaxUrlLength) return $"attribute '{attr.Name}' is too long";
            if (attr.Name is "src" or "href" && !IsHttpsUrl(text)) return $"{tag}.{attr.Name} must be an https URL";
        }
        return null;
    }

    /// <summary>The uids a rich-text body mentions: <c>span</c> nodes with class <c>nickname</c> and a <c>user_id</c> (<c>__ALL</c> = everyone).</summary>
    public static IEnumerable<string> MentionedUids(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Array) yield break;
        foreach (var node in body.EnumerateArray())
        {
            if (node.ValueKind != JsonValueKind.Object) continue;
            if (node.TryGetProperty("attrs", out var attrs) && attrs.ValueKind == JsonValueKind.Object
                && attrs.TryGetProperty("user_id", out var uid) && uid.ValueKind == JsonValueKind.String
                && attrs.TryGetProperty("class", out var cls) && cls.ValueKind == JsonValueKind.String
                && cls.GetString()!.Split(' ').Contains("nickname"))
                yield return uid.GetString()!;
            if (node.TryGetProperty("children", out var children))
                foreach (var inner in MentionedUids(children)) yield return inner;
        }
    }
}
