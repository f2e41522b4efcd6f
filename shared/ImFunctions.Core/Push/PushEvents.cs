using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Push;

/// <summary>The server-message payloads clients receive: <c>{"type":"im","event":...,"data":...}</c> (SPEC §6).</summary>
public static class PushEvents
{
    /// <summary>Messages whose JSON is larger go out as a hint and are fetched with getMsgList.</summary>
    public const int MaxInlineMessageBytes = 1024;
    const int PreviewChars = 50;

    public static ReadOnlyMemory<byte> Msg(Message message) => Msg(message, out _);

    /// <param name="isInline">false when the message was too large and the payload is a hint.</param>
    public static ReadOnlyMemory<byte> Msg(Message message, out bool isInline)
    {
        var inline = Serialize("msg", message);
        isInline = inline.Length <= MaxInlineMessageBytes;
        if (isInline) return inline;
        var hint = new MessageHint(message.Id, message.ConversationId, message.Seq, message.FromUid, message.Type,
            MessageNotes.Preview(message, PreviewChars), message.CreateTime);
        return Serialize("msg", hint);
    }

    public static ReadOnlyMemory<byte> Read(string conversationId, string userId, long readSeq) =>
        Serialize("read", new ReadEvent(conversationId, userId, readSeq));

    /// <summary>A group event for particular users (join requests and their outcome): <c>{"event":"group","data":{action,...}}</c>.</summary>
    public static ReadOnlyMemory<byte> Group(string action, object data) => Serialize("group", new GroupEvent(action, data));

    /// <summary>A change in the user's friends, invites or blocks (<c>data.action</c> says which).</summary>
    public static ReadOnlyMemory<byte> Friend<T>(T data) => Serialize("friend", data);

    /// <summary>A change of the user's own conversation row that is not a message (settings, marked unread).</summary>
    public static ReadOnlyMemory<byte> Conversation<T>(T data) => Serialize("conversation", data);

    static byte[] Serialize<T>(string eventName, T data) =>
        JsonSerializer.SerializeToUtf8Bytes(new PushEvent<T>("im", eventName, data), ImJson.Options);

    sealed record PushEvent<T>(string Type, string Event, T Data);

    /// <summary>A too-large message, announced: the client calls getMsgList with after_seq = seq - 1.</summary>
    sealed record MessageHint(
        [property: JsonPropertyName("_id")] string Id, string ConversationId, long Seq, string FromUid, string Type,
        string Preview, long CreateTime)
    {
        public bool IsHint => true;
    }

    sealed record ReadEvent(string ConversationId, string UserId, long ReadSeq);

    sealed record GroupEvent(string Action, object Data);
}

/// <summary>The short texts uni-im shows in conversation lists and notifications.</summary>
public static class MessageNotes
{
    static readonly Dictionary<string, string> Labels = new()
    {
        ["image"] = "[图片]", ["sound"] = "[语音]", ["video"] = "[视频]", ["file"] = "[文件]", ["location"] = "[位置]",
    };

    public static string Preview(Message message, int maxChars) =>
        message.Type == "text" && message.Body.ValueKind == JsonValueKind.String
            ? Truncate(message.Body.GetString()!, maxChars)
            : Labels.GetValueOrDefault(message.Type, $"[{message.Type}]");

    static string Truncate(string text, int maxChars)
    {
        var info = new System.Globalization.StringInfo(text);
        return info.LengthInTextElements <= maxChars ? text : info.SubstringByTextElements(0, maxChars);
    }
}
