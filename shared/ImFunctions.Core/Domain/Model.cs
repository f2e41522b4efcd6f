using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImFunctions.Core.Domain;

// Wire and storage names are uni-im's snake_case (ImJson.Options); the few camelCase or
// underscore-prefixed uni-im names are spelled out with attributes.

public sealed record AvatarFile(string? Extname, string? Name, string? Url);

public sealed record User
{
    [JsonPropertyName("_id")] public required string Id { get; init; }
    public required string ExtUid { get; init; }
    public string? Nickname { get; init; }
    public AvatarFile? AvatarFile { get; init; }
    public int? Gender { get; init; }
    public string? Mobile { get; init; }
    public string? Email { get; init; }
    public string[] Role { get; init; } = [];
    /// <summary>Bumped to revoke every token issued before (logout, account deletion).</summary>
    public int TokenVersion { get; init; } = 1;
    public long RegisterDate { get; init; }
    public long UpdateTime { get; init; }
    /// <summary>Logged-out sessions whose tokens may not have expired yet (logout).</summary>
    public Accounts.RevokedSession[] RevokedSessions { get; init; } = [];
    /// <summary><see cref="Accounts.AccountDeletion.Deleting"/> while deleteAccount runs, <see cref="Accounts.AccountDeletion.Deleted"/> after.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Deletion { get; init; }

    public bool IsSuperAdmin => Role.Contains("admin");
    public PublicProfile ToPublicProfile() => new(Id, Nickname, AvatarFile);
}

/// <summary>What anyone may see of a user: never mobile, email or roles.</summary>
public sealed record PublicProfile([property: JsonPropertyName("_id")] string Id, string? Nickname, AvatarFile? AvatarFile);

public sealed record Message
{
    [JsonPropertyName("_id")] public required string Id { get; init; }
    public required string ConversationId { get; init; }
    public long Seq { get; init; }
    public string? ClientMsgId { get; init; }
    public required string FromUid { get; init; }
    public string? ToUid { get; init; }
    public string? GroupId { get; init; }
    public required string Appid { get; init; }
    public required string Type { get; init; }
    public required JsonElement Body { get; init; }
    public string? AboutMsgId { get; init; }
    public bool IsRead { get; init; }
    public bool IsRevoke { get; init; }
    public long CreateTime { get; init; }
    public long? ClientCreateTime { get; init; }
    public long UpdateTime { get; init; }
    public string? Nickname { get; init; }
    public AvatarFile? AvatarFile { get; init; }
    /// <summary>When the sender last edited the body (editMsg); absent when never edited.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? EditTime { get; init; }
    /// <summary>Who the message mentions (rich-text mention nodes, call_uid[], the quoted author); absent when nobody.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? CallUid { get; init; }
    /// <summary>The sender's address, only with UniIm:RecordIp, and only ever shown to uni-im-admin.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? FromIp { get; init; }

    /// <summary>Whether a retry carries the same message as the one stored under its client_msg_id.</summary>
    public bool SameContentAs(Message other) =>
        FromUid == other.FromUid && ToUid == other.ToUid && GroupId == other.GroupId && Type == other.Type &&
        AboutMsgId == other.AboutMsgId && JsonElement.DeepEquals(Body, other.Body);
}

/// <summary>One participant's view of a conversation (uni-im's uni-im-conversation row).</summary>
public sealed record ConversationRow
{
    public required string Id { get; init; }
    public int Type { get; init; }
    public required string UserId { get; init; }
    public string? FriendUid { get; init; }
    public string? GroupId { get; init; }
    public string LastMsgNote { get; init; } = "";
    public long LastMsgCreateTime { get; init; }
    public long UpdateTime { get; init; }
    public long CreateTime { get; init; }
    /// <summary>The highest seq this row has seen.</summary>
    public long LastSeq { get; init; }
    /// <summary>Everything up to this seq counts as read.</summary>
    public long ReadSeq { get; init; }
    public Message? LastMsg { get; init; }
    /// <summary>Group rows: the user quit or was expelled; the row stays, read-only (uni-im's leave).</summary>
    public bool Leave { get; init; }

    // The owner's own settings (setConversation, markConversationUnread): never the activity time, never the peer's.
    public bool Pinned { get; init; }
    public bool Mute { get; init; }
    /// <summary>Out of the list and the unread total until the conversation's next message.</summary>
    public bool Hidden { get; init; }
    /// <summary>
    /// Group rows: the group's last_seq when the owner hid the row. A group's messages never write its members' rows,
    /// so the list shows the row again once the group's head passes this (its next message). Absent otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? HiddenSeq { get; init; }
    public bool IsStar { get; init; }
    /// <summary>markConversationUnread: counts as unread (at least 1) until the owner next reads it.</summary>
    public bool MarkedUnread { get; init; }
    /// <summary>
    /// The peer (friend_uid) blocked this row's owner: their sends here are refused. Kept on the row the blocked user
    /// reads anyway to send, so the check costs no read; never on the wire.
    /// </summary>
    public bool PeerBlocked { get; init; }
    /// <summary>Messages that mention this row's owner and are not yet seen (newest last, bounded); absent when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? RemindMsgIds { get; init; }

    /// <summary>Derived from two monotonic cursors, so concurrent sends and reads cannot make it drift.</summary>
    public long UnreadCount => Math.Max(MarkedUnread ? 1 : 0, LastSeq - ReadSeq);

    /// <summary>The list's order (update_time, then id, both descending) as one string, for stores that order by one field.</summary>
    public string ListKey => $"{UpdateTime:D15}|{Id}";

    /// <summary>The store's concurrency token (SQLite row version, Cosmos _etag); never on the wire.</summary>
    [JsonIgnore] public string? ETag { get; init; }
}

public static class ConversationTypes
{
    public const int Single = 1;
    public const int Group = 2;
}

public static class ImJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
        // Chat is mostly not ASCII: keep text as UTF-8 instead of \uXXXX escapes (half the bytes for CJK).
        // Everything we write is served as application/json, never into HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
