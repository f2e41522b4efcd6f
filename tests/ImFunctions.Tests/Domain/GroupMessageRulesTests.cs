using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Messages;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;
using ImFunctions.Tests.Storage;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Tests.Domain;

/// <summary>
/// The group rules of revoke and mentions (SPEC §11), against a small fake of the groups feature until it lands:
/// owner any time, admins any time but not the owner's, members only their own within the window; __ALL by owner/admins.
/// </summary>
public sealed class GroupMessageRulesTests
{
    const string GroupId = "g1", ConversationId = "group_g1";
    readonly SqliteStoreFactory factory = new();
    IImStore store = null!;

    static readonly User Owner = Person("owner"), Admin = Person("admin"), Member = Person("member"), Other = Person("other"),
        Left = Person("left"), Stranger = Person("stranger");

    readonly FakeGroup group = new(new Dictionary<string, GroupMember>
    {
        [Owner.Id] = new(GroupId, Owner.Id, GroupRole.Owner, 0, null, null),
        [Admin.Id] = new(GroupId, Admin.Id, GroupRole.Admin, 0, null, null),
        [Member.Id] = new(GroupId, Member.Id, GroupRole.Member, 0, null, null),
        [Other.Id] = new(GroupId, Other.Id, GroupRole.Member, 0, null, null),
        [Left.Id] = new(GroupId, Left.Id, GroupRole.Member, 0, LeaveSeq: 0, null),
    });

    [OneTimeSetUp]
    public async Task StartStore() => store = await factory.CreateAsync();

    [OneTimeTearDown]
    public Task StopStore() => factory.DisposeAsync();

    static User Person(string name) => new() { Id = name + "-" + Guid.NewGuid().ToString("N")[..8], ExtUid = "ext-" + name, Nickname = name };

    /// <summary>A service whose sender window is already closed, so only the group rights can allow a revoke.</summary>
    MessageLifecycle Lifecycle() => new(store, (IMessageLifecycleStore)store, group,
        new PushDispatcher(new RecordingPushGateway(), NullLogger<PushDispatcher>.Instance, new PushDispatchOptions()), new EventsOff(),
        new UniImOptions { RevokeWindow = TimeSpan.FromSeconds(-1) }, TimeProvider.System);

    async Task<Message> GroupMessageAsync(User from)
    {
        for (var seq = 1L; ; seq++)
        {
            var message = new Message
            {
                Id = Ids.New(), ConversationId = ConversationId, Seq = seq, FromUid = from.Id, GroupId = GroupId, Appid = "a",
                Type = "text", Body = JsonSerializer.SerializeToElement("group text"), CreateTime = 1, UpdateTime = 1,
            };
            if ((await store.TryAppendMessageAsync(message, default)).Status == AppendStatus.Appended) return message;
        }
    }

    async Task<ImError?> RevokeAsync(User by, User author)
    {
        var message = await GroupMessageAsync(author);
        var result = await Lifecycle().RevokeAsync(by, ConversationId, message.Id, default);
        var stored = await store.GetMessageAsync(ConversationId, message.Id, default);
        Assert.That(stored!.IsRevoke, Is.EqualTo(result.Error is null), "a refused revoke changes nothing");
        return result.Error;
    }

    [Test]
    public async Task The_owner_revokes_anyones_message_any_time()
    {
        Assert.That(await RevokeAsync(Owner, Admin), Is.Null);
        Assert.That(await RevokeAsync(Owner, Member), Is.Null);
    }

    [Test]
    public async Task An_admin_revokes_members_and_own_messages_any_time_but_never_the_owners()
    {
        Assert.That(await RevokeAsync(Admin, Member), Is.Null);
        Assert.That(await RevokeAsync(Admin, Admin), Is.Null);
        Assert.That((await RevokeAsync(Admin, Owner))?.Code, Is.EqualTo(ErrorCodes.NoPermission));
    }

    [Test]
    public async Task A_member_cannot_revoke_others_and_their_own_only_within_the_window()
    {
        Assert.That((await RevokeAsync(Member, Other))?.Code, Is.EqualTo(ErrorCodes.NoPermission));
        Assert.That((await RevokeAsync(Member, Member))?.Code, Is.EqualTo(MessageErrors.RevokeWindowPassed));
    }

    [Test]
    public async Task Someone_who_was_never_a_member_or_has_left_cannot_see_the_message_to_revoke_it()
    {
        Assert.That((await RevokeAsync(Stranger, Member))?.Status, Is.EqualTo(404));
        Assert.That((await RevokeAsync(Left, Member))?.Status, Is.EqualTo(404));
    }

    Task<Result<ComposedMessage>> ComposeAsync(User me, string[] callUid, bool allByMembers = false) =>
        new MessageComposer(store, new UserDirectory(store, new MemoryCache(new MemoryCacheOptions())), group,
                new UniImOptions { MentionAllByMembers = allByMembers })
            .ComposeAsync(me, new ComposeTarget(ConversationId, null, GroupId, SenderHasHistory: true),
                new SendMessage(null, GroupId, "a", "text", JsonSerializer.SerializeToElement("hi"), CallUid: callUid), default);

    [Test]
    public async Task Everyone_can_be_mentioned_by_the_owner_and_admins_and_by_members_only_when_configured()
    {
        Assert.That((await ComposeAsync(Owner, ["__ALL"])).Error, Is.Null);
        Assert.That((await ComposeAsync(Admin, ["__ALL"])).Error, Is.Null);
        Assert.That((await ComposeAsync(Member, ["__ALL"])).Error?.Code, Is.EqualTo(ErrorCodes.NoPermission));
        Assert.That((await ComposeAsync(Member, ["__ALL"], allByMembers: true)).Error, Is.Null);
    }

    [Test]
    public async Task Only_current_members_can_be_mentioned_and_the_sender_is_never_among_them()
    {
        var ok = await ComposeAsync(Member, [Other.Id, Member.Id, Other.Id]);

        Assert.That(ok.Match(c => c.CallUid, _ => null), Is.EqualTo(new[] { Other.Id }));
        Assert.That((await ComposeAsync(Member, [Left.Id])).Error?.Code, Is.EqualTo(ErrorCodes.InvalidParam));
        Assert.That((await ComposeAsync(Member, [Stranger.Id])).Error?.Code, Is.EqualTo(ErrorCodes.InvalidParam));
    }

    [Test]
    public void A_mention_is_remembered_on_the_mentioned_row_only_newest_last_and_bounded()
    {
        string[]? remind = null;
        for (var i = 0; i < Mentions.MaxRemindMsgIds + 5; i++)
            remind = Mentions.Remember(remind, new Message
            {
                Id = "m" + i, ConversationId = ConversationId, FromUid = Admin.Id, Appid = "a", Type = "text",
                Body = JsonSerializer.SerializeToElement("x"), CallUid = i % 2 == 0 ? [Member.Id] : ["__ALL"],
            }, Member.Id);
        var notMine = Mentions.Remember(null, new Message
        {
            Id = "x", ConversationId = ConversationId, FromUid = Admin.Id, Appid = "a", Type = "text",
            Body = JsonSerializer.SerializeToElement("x"), CallUid = [Other.Id],
        }, Member.Id);

        Assert.That(remind, Has.Length.EqualTo(Mentions.MaxRemindMsgIds));
        Assert.That(remind![^1], Is.EqualTo("m" + (Mentions.MaxRemindMsgIds + 4)));
        Assert.That(notMine, Is.Null);
        Assert.That(Mentions.Forget(["a"], "a"), Is.Null);
    }

    sealed class FakeGroup(Dictionary<string, GroupMember> members) : IGroupMembership
    {
        public Task<GroupMember?> GetMemberAsync(string groupId, string uid, CancellationToken ct) =>
            Task.FromResult(groupId == GroupId ? members.GetValueOrDefault(uid) : null);

        public Task<IReadOnlyList<GroupMember>> GetMembersAsync(string groupId, IReadOnlyCollection<string> uids, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<GroupMember>>(groupId == GroupId ? uids.Select(members.GetValueOrDefault).OfType<GroupMember>().ToList() : []);

        public Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct) =>
            Task.FromResult(members.ContainsKey(uidA) && members.ContainsKey(uidB));

        public Task<int> ForgetMentionAsync(string groupId, IReadOnlyCollection<string> uids, string messageId, CancellationToken ct) =>
            Task.FromResult(0);

        public Task<bool> ReflectMessageChangeAsync(Message changed, CancellationToken ct) => Task.FromResult(false);
    }
}
