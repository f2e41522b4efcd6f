using System.Text.Json;
using ImFunctions.Core.Messages;

namespace ImFunctions.Core.Domain;

/// <summary>Kept for callers of the first wave; the rules live in <see cref="MessageBodyRules"/>.</summary>
public static class MessageBodies
{
    public static readonly string[] SupportedTypes = MessageBodyRules.ClientTypes;

    public static ImError? Validate(string type, JsonElement body, int maxBytes) => MessageBodyRules.Validate(type, body, maxBytes);
}
