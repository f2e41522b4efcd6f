using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImFunctions.Core.Friends;

/// <summary>
/// One record of a user's social graph (a friend, an invite, a block), kept with its owner: every question the
/// features ask ("is B my friend?", "did B block me?", "my received invites") is a point read or a query inside
/// one user's records. Ids are deterministic, so a retried or concurrent create lands on the same record.
/// </summary>
public abstract record SocialRecord
{
    /// <summary>Unique among the owner's records, e.g. <c>friend_&lt;uid&gt;</c>.</summary>
    public required string Id { get; init; }
    /// <summary>The owner (the Cosmos partition key).</summary>
    public required string UserId { get; init; }
    public abstract string Kind { get; }
    /// <summary>Lists are newest first by this key; it is unique, so keyset paging never skips or repeats.</summary>
    public abstract string SortKey { get; }

    [JsonIgnore] public string? ETag { get; init; }

    protected string Sort(long time) => $"{time:D15}|{Id}";

    /// <summary>A copy with the store's concurrency token (generic code cannot use <c>with</c> on a type parameter).</summary>
    public T WithETag<T>(string? etag) where T : SocialRecord => (T)(this with { ETag = etag });
}

/// <summary>One direction of a friendship (uni-im's uni-im-friend row); accepting an invite writes both.</summary>
public sealed record Friendship : SocialRecord
{
    public const string KindName = "friend";
    public required string FriendUid { get; init; }
    /// <summary>The owner's private name for the friend.</summary>
    public string? Remark { get; init; }
    public long CreateTime { get; init; }

    public override string Kind => KindName;
    public override string SortKey => Sort(CreateTime);
    public static string IdFor(string friendUid) => "friend_" + friendUid;
}

public static class InviteStates
{
    // uni-im's values.
    public const int Pending = 0, Accepted = 100, Rejected = -100;
}

/// <summary>
/// A friend invite. The invitee's copy (<c>in_&lt;invite id&gt;</c>) holds the state; the inviter keeps a copy
/// (<c>out_&lt;invite id&gt;</c>) for their sent box, written before and brought up to date after every change.
/// </summary>
public sealed record FriendInvite : SocialRecord
{
    public const string ReceivedKind = "invite_received", SentKind = "invite_sent";
    public required string InviteId { get; init; }
    public required string FromUid { get; init; }
    public required string ToUid { get; init; }
    public string? Message { get; init; }
    public int State { get; init; }
    public long CreateTime { get; init; }
    public long UpdateTime { get; init; }

    public override string Kind => UserId == ToUid ? ReceivedKind : SentKind;
    public override string SortKey => Sort(UpdateTime);

    public bool IsPending => State == InviteStates.Pending;
    public static string ReceivedIdFor(string inviteId) => "in_" + inviteId;
    public static string SentIdFor(string inviteId) => "out_" + inviteId;

    /// <summary>uni-im's invite id: md5 of the JSON array [from, to], so one pair has one invite per direction.</summary>
    public static string InviteIdFor(string fromUid, string toUid) =>
        Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new[] { fromUid, toUid }))));

    public FriendInvite ReceivedCopy() => this with { Id = ReceivedIdFor(InviteId), UserId = ToUid, ETag = null };
    public FriendInvite SentCopy() => this with { Id = SentIdFor(InviteId), UserId = FromUid, ETag = null };
}

/// <summary>The owner blocked <see cref="BlockedUid"/> (beyond uni-im).</summary>
public sealed record Block : SocialRecord
{
    public const string KindName = "block";
    public required string BlockedUid { get; init; }
    public long CreateTime { get; init; }

    public override string Kind => KindName;
    public override string SortKey => Sort(CreateTime);
    public static string IdFor(string blockedUid) => "block_" + blockedUid;
}
