using System.Text.Json;

namespace ImFunctions.Core.Domain;

/// <summary>What a message body may look like, per type (first wave: text and image).</summary>
public static class MessageBodies
{
    public static readonly string[] SupportedTypes = ["text", "image"];

    public static ImError? Validate(string type, JsonElement body, int maxBytes)
    {
        if (body.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return ImError.InvalidParam("body", "is required");
        // Measured as we store it, so a client's choice of escaping does not change what fits.
        if (JsonSerializer.SerializeToUtf8Bytes(body, ImJson.Options).Length > maxBytes)
            return ImError.InvalidParam("body", $"is larger than {maxBytes} bytes");
        return type switch
        {
            "text" => body.ValueKind == JsonValueKind.String && body.GetString()!.Trim().Length > 0
                ? null : ImError.InvalidParam("body", "must be a non-empty string for a text message"),
            "image" => IsImage(body) ? null
                : ImError.InvalidParam("body", "must be an https URL or {url, width, height} for an image message"),
            _ => ImError.InvalidParam("type", $"'{type}' is not supported; use one of: {string.Join(", ", SupportedTypes)}"),
        };
    }

    static bool IsImage(JsonElement body) => body.ValueKind switch
    {
        JsonValueKind.String => IsHttpsUrl(body.GetString()),
        JsonValueKind.Object =>
            body.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String && IsHttpsUrl(url.GetString())
            && IsOptionalDimension(body, "width") && IsOptionalDimension(body, "height"),
        _ => false,
    };

    static bool IsOptionalDimension(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null
        || (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 0);

    static bool IsHttpsUrl(string? text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps;
}
