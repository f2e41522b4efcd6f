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
        return MessageOrHint("msg", message, out isInline);
    }

    /// <summary>A message whose body the sender changed (editMsg): the message as now stored, or a hint when large.</summary>
    public static ReadOnlyMemory<byte> Edit(Message message) => MessageOrHint("edit", message, out _);

    /// <summary>A message was revoked: where it was, never what it said.</summary>
    public static ReadOnlyMemory<byte> Revoke(Message revoked, string revokedBy) =>
        Serialize("revoke", new RevokeEvent(revoked.Id, revoked.ConversationId, revoked.Seq, revoked.FromUid, revokedBy, revoked.UpdateTime));

    // A mention is flagged on the envelope so a client (and the mute rule) can tell it apart without reading the body:
    // it must reach the mentioned even in a muted conversation.
    static byte[] MessageOrHint(string eventName, Message message, out bool isInline)
    {
        var isMention = message.CallUid is { Length: > 0 } ? true : (bool?)null;
        var inline = JsonSerializer.SerializeToUtf8Bytes(new PushEvent<Message>("im", eventName, message, isMention), ImJson.Options);
        isInline = inline.Length <= MaxInlineMessageBytes;
        if (isInline) return inline;
        var hint = new MessageHint(message.Id, message.ConversationId, message.Seq, message.FromUid, message.Type,
            MessageNotes.Preview(message, PreviewChars), message.CreateTime);
        return JsonSerializer.SerializeToUtf8Bytes(new PushEvent<MessageHint>("im", eventName, hint, isMention), ImJson.Options);
    }

    public static ReadOnlyMemory<byte> Read(string conversationId, string userId, long readSeq) =>
        Serialize("read", new ReadEvent(conversationId, userId, readSeq));

    /// <summary>A group event for particular users (join requests and their outcome): <c>{"event":"group","data":{action,...}}</c>.</summary>
    public static ReadOnlyMemory<byte> Group(string action, object data) => Serialize("group", new GroupEvent(action, data));

    /// <summary>A change in the user's friends, invites or blocks (<c>data.action</c> says which).</summary>
    public static ReadOnlyMemory<byte> Friend<T>(T data) => Serialize("friend", data);

    /// <summary>A change of the user's own conversation row that is not a message (settings, marked unread).</summary>
    public static ReadOnlyMemory<byte> Conversation<T>(T data) => Serialize("conversation", data);

    /// <summary>A batch frame's size limit: far under Web PubSub's 1 MiB per message, small enough not to stall a socket.</summary>
    public const int MaxBatchBytes = 64 * 1024;
    /// <summary>At most this many events in one batch frame.</summary>
    public const int MaxBatchEvents = 100;

    static readonly byte[] BatchStart = "{\"type\":\"im\",\"event\":\"batch\",\"data\":["u8.ToArray();
    static readonly byte[] BatchEnd = "]}"u8.ToArray();

    /// <summary>The bytes a batch frame of <paramref name="events"/> events totalling <paramref name="eventBytes"/> takes.</summary>
    public static int BatchLength(int events, int eventBytes) => BatchStart.Length + eventBytes + Math.Max(events - 1, 0) + BatchEnd.Length;

    /// <summary>
    /// Several pushes to one audience as one frame, in order: <c>{"type":"im","event":"batch","data":[push1,push2,…]}</c>.
    /// The payloads are already serialized and are copied as they are.
    /// </summary>
    public static ReadOnlyMemory<byte> Batch(IReadOnlyList<ReadOnlyMemory<byte>> pushes)
    {
        var eventBytes = 0;
        for (var i = 0; i < pushes.Count; i++) eventBytes += pushes[i].Length;
        var frame = new byte[BatchLength(pushes.Count, eventBytes)];
        var at = Append(frame, 0, BatchStart);
        for (var i = 0; i < pushes.Count; i++)
        {
            if (i > 0) frame[at++] = (byte)',';
            at = Append(frame, at, pushes[i].Span);
        }
        Append(frame, at, BatchEnd);
        return frame;
    }

    static int Append(byte[] frame, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(frame.AsSpan(at));
        return at + bytes.Length;
    }

    static byte[] Serialize<T>(string eventName, T data) =>
        JsonSerializer.SerializeToUtf8Bytes(new PushEvent<T>("im", eventName, data), ImJson.Options);

    sealed record PushEvent<T>(string Type, string Event, T Data,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? IsMention = null);

    /// <summary>A too-large message, announced: the client calls getMsgList with after_seq = seq - 1.</summary>
    sealed record MessageHint(
        [property: JsonPropertyName("_id")] string Id, string ConversationId, long Seq, string FromUid, string Type,
        string Preview, long CreateTime)
    {
        public bool IsHint => true;
    }

    sealed record ReadEvent(string ConversationId, string UserId, long ReadSeq);

    sealed record GroupEvent(string Action, object Data);

    sealed record RevokeEvent([property: JsonPropertyName("_id")] string Id, string ConversationId, long Seq, string FromUid,
        string RevokedBy, long UpdateTime)
    {
        public bool IsRevoke => true;
    }
}

/// <summary>The short texts uni-im shows in conversation lists and notifications (its labels, per type).</summary>
public static class MessageNotes
{
    /// <summary>What a revoked message reads as everywhere (uni-im's getConversationList wording).</summary>
    public const string Revoked = "消息已经被撤回";

    static readonly Dictionary<string, string> Labels = new()
    {
        ["image"] = "[图片]", ["sound"] = "语音", ["video"] = "[视频]", ["file"] = "[文件]", ["location"] = "[位置]",
        ["code"] = "[代码]", ["rich-text"] = "[图文消息]", ["history"] = "[history]",
    };

    public static string Preview(Message message, int maxChars)
    {
        if (message.IsRevoke) return Revoked;
        if (message.Type == "text" && message.Body.ValueKind == JsonValueKind.String)
            return TextElements.Truncate(message.Body.GetString()!.ReplaceLineEndings(""), maxChars);
        if (message.Type == "userinfo-card" && message.Body.ValueKind == JsonValueKind.Object
            && message.Body.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
            return TextElements.Truncate(name.GetString() + " 的名片", maxChars);
        return Labels.GetValueOrDefault(message.Type, $"[{message.Type}]");
    }
}
