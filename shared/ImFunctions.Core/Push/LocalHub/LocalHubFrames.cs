using System.Buffers;
using System.Net.WebSockets;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>How a client speaks to the hub, chosen by the WebSocket subprotocol it asked for.</summary>
public enum LocalHubProtocol
{
    /// <summary>No subprotocol: frames carry the payload alone.</summary>
    Raw,
    /// <summary><c>json.webpubsub.azure.v1</c></summary>
    Json,
    /// <summary><c>json.reliable.webpubsub.azure.v1</c>: sequence ids, acks and recovery.</summary>
    ReliableJson,
}

public enum HubDataType { Json, Text, Binary }

/// <summary>A message body as Web PubSub carries it: JSON text, UTF-8 text or bytes.</summary>
public readonly record struct HubData(HubDataType Type, ReadOnlyMemory<byte> Bytes)
{
    public static HubData Json(ReadOnlyMemory<byte> json) => new(HubDataType.Json, json);
}

/// <summary>One WebSocket frame to send.</summary>
public readonly record struct Outbound(ReadOnlyMemory<byte> Bytes, WebSocketMessageType Type = WebSocketMessageType.Text);

/// <summary>The frames of Web PubSub's JSON client protocols, service to client.</summary>
public static class LocalHubFrames
{
    public const string JsonSubprotocol = "json.webpubsub.azure.v1";
    public const string ReliableJsonSubprotocol = "json.reliable.webpubsub.azure.v1";

    static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly Outbound Pong = new("""{"type":"pong"}"""u8.ToArray());

    public static Outbound Connected(string? userId, string connectionId, string? reconnectionToken) => Write(w =>
    {
        w.WriteString("type", "system");
        w.WriteString("event", "connected");
        if (userId is not null) w.WriteString("userId", userId);
        w.WriteString("connectionId", connectionId);
        if (reconnectionToken is not null) w.WriteString("reconnectionToken", reconnectionToken);
    });

    public static Outbound Disconnected(string message) => Write(w =>
    {
        w.WriteString("type", "system");
        w.WriteString("event", "disconnected");
        w.WriteString("message", message);
    });

    public static Outbound Ack(ulong ackId, string? errorName = null, string? errorMessage = null) => Write(w =>
    {
        w.WriteString("type", "ack");
        w.WriteNumber("ackId", ackId);
        w.WriteBoolean("success", errorName is null);
        if (errorName is null) return;
        w.WriteStartObject("error");
        w.WriteString("name", errorName);
        w.WriteString("message", errorMessage);
        w.WriteEndObject();
    });

    /// <summary>A data message: from the server (REST sends) or from a group (group sends), with its sequenceId when reliable.</summary>
    public static Outbound Message(HubData data, string? group, string? fromUserId, long? sequenceId) => Write(sizeHint: MessageSize(data, group, fromUserId), writeProperties: w =>
    {
        if (sequenceId is { } id) w.WriteNumber("sequenceId", id);
        w.WriteString("type", "message");
        if (group is null)
        {
            w.WriteString("from", "server");
        }
        else
        {
            w.WriteString("from", "group");
            w.WriteString("group", group);
            if (fromUserId is not null) w.WriteString("fromUserId", fromUserId);
        }
        switch (data.Type)
        {
            case HubDataType.Json:
                w.WriteString("dataType", "json");
                w.WritePropertyName("data");
                w.WriteRawValue(data.Bytes.Span, skipInputValidation: true);   // validated where it came in
                break;
            case HubDataType.Text:
                w.WriteString("dataType", "text");
                w.WriteString("data", data.Bytes.Span);
                break;
            default:
                w.WriteString("dataType", "binary");
                w.WriteBase64String("data", data.Bytes.Span);
                break;
        }
    });

    /// <summary>What a client without a subprotocol receives: the payload itself.</summary>
    public static Outbound Raw(HubData data) =>
        new(data.Bytes, data.Type == HubDataType.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text);

    /// <summary>
    /// Room for a data message as it is usually written: the payload (a third more as base64), what names the sender
    /// and the envelope's own ~100 bytes. A buffer that starts small doubles its way up to a message's size, each
    /// step a new array: 5 KB of garbage per socket delivery of a 1 KB message, the largest of a send's allocations
    /// (docs/benchmarks.md, <i>A send's allocations</i>).
    /// </summary>
    static int MessageSize(HubData data, string? group, string? fromUserId) =>
        (data.Type == HubDataType.Binary ? (data.Bytes.Length + 2) / 3 * 4 : data.Bytes.Length)
        + 3 * ((group?.Length ?? 0) + (fromUserId?.Length ?? 0)) + 160;

    static Outbound Write(Action<Utf8JsonWriter> writeProperties, int sizeHint = 128)
    {
        var buffer = new ArrayBufferWriter<byte>(sizeHint);
        using (var writer = new Utf8JsonWriter(buffer, Compact))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }
        return new Outbound(buffer.WrittenMemory);
    }
}
