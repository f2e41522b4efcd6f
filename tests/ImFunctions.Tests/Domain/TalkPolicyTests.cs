using ImFunctions.Core.Domain;
using ImFunctions.Core.Friends;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Storage;
using ImFunctions.Tests.Storage;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace ImFunctions.Tests.Domain;

/// <summary>
/// Who may start a conversation, grade by grade and relationship by relationship. Friends and blocks are real
/// records in a real (SQLite) store; groups are declared with <see cref="FakeGroups"/> until the groups feature is merged.
/// </summary>
public sealed class TalkPolicyTests
{
    static readonly User Admin = new() { Id = "admin", ExtUid = "e-admin" };
    static readonly User Alice = new() { Id = "alice", ExtUid = "e-alice" };
    static readonly User Bob = new() { Id = "bob", ExtUid = "e-bob" };
    static readonly User Carol = new() { Id = "carol", ExtUid = "e-carol" };
    static readonly User Friend = new() { Id = "friend", ExtUid = "e-friend" };
    static readonly User Staff = new() { Id = "staff", ExtUid = "e-staff", Role = [TalkPolicy.StaffRole] };
    static readonly User Root = new() { Id = "root", ExtUid = "e-root", Role = ["admin"] };

    SqliteStoreFactory factory = null!;
    IFriendStore friends = null!;

    [OneTimeSetUp]
    public async Task StartStore()
    {
        factory = new SqliteStoreFactory();
        friends = (IFriendStore)await factory.CreateAsync();
        foreach (var (a, b) in new[] { (Alice, Friend), (Friend, Alice) })
            await friends.TryCreateAsync(new Friendship { Id = Friendship.IdFor(b.Id), UserId = a.Id, FriendUid = b.Id }, default);
        await friends.TryCreateAsync(new Block { Id = Block.IdFor(Carol.Id), UserId = Bob.Id, BlockedUid = Carol.Id }, default);
    }

    [OneTimeTearDown]
    public Task StopStore() => factory.DisposeAsync();

    // Groups: alice and bob are members of g1; admin-group: bob is its admin and alice a member; carol left it.
    static FakeGroups Groups() => new FakeGroups()
        .With("g1", "alice").With("g1", "bob")
        .With("g2", "alice").With("g2", "admin", GroupRole.Admin).With("g2", "carol", left: true)
        .With("g3", "carol").With("g3", "staff", GroupRole.Owner);

    string? Check(User from, User to, string[] admins, int? grade, string? chatSource = null, IGroupMembership? groups = null) =>
        new TalkPolicy(new UniImOptions { AdminUids = admins, ConversationGrade = grade }, friends, groups ?? Groups())
            .CheckNewConversationAsync(from, to, chatSource, default).GetAwaiter().GetResult()?.Code;

    const string Denied = ErrorCodes.NoPermission, AdminOnly = ErrorCodes.AdminOnly;

    [Test]
    public void Without_rules_anyone_may_start_a_conversation() => Assert.That(Check(Alice, Bob, [], null), Is.Null);

    [Test]
    public void Admin_uid_blocks_a_pair_without_an_admin_with_40001()
    {
        Assert.That(Check(Alice, Bob, ["admin"], null), Is.EqualTo(AdminOnly));
        Assert.That(Check(Alice, Admin, ["admin"], null), Is.Null);
        Assert.That(Check(Admin, Bob, ["admin"], null), Is.Null);
    }

    [Test]
    public void Grade_0_lets_anyone_talk_even_with_admin_uid_set() => Assert.That(Check(Alice, Bob, ["admin"], 0), Is.Null);

    [Test]
    public void Grade_100_allows_customer_service_friends_and_fellow_group_members_only()
    {
        Assert.That(Check(Alice, Admin, ["admin"], 100), Is.Null, "to customer service");
        Assert.That(Check(Admin, Carol, ["admin"], 100), Is.Null, "from customer service");
        Assert.That(Check(Alice, Friend, ["admin"], 100), Is.Null, "friend");
        Assert.That(Check(Alice, Bob, ["admin"], 100), Is.Null, "fellow member of g1");
        Assert.That(Check(Carol, Friend, ["admin"], 100), Is.EqualTo(AdminOnly), "strangers, with customer service configured");
        Assert.That(Check(Carol, Friend, [], 100), Is.EqualTo(Denied), "strangers, no customer service");
        Assert.That(Check(Carol, Admin, [], 100), Is.EqualTo(Denied), "a member who left g2 is no fellow member");
    }

    [Test]
    public void Grade_200_allows_friends_and_fellow_group_members_only()
    {
        Assert.That(Check(Alice, Friend, ["admin"], 200), Is.Null, "friend");
        Assert.That(Check(Friend, Alice, [], 200), Is.Null, "friend, the other way");
        Assert.That(Check(Bob, Alice, [], 200), Is.Null, "fellow member");
        Assert.That(Check(Alice, Admin, ["admin"], 200), Is.Null, "fellow member of g2");
        Assert.That(Check(Carol, Admin, ["admin"], 200), Is.EqualTo(Denied), "customer service alone is not enough at 200");
        Assert.That(Check(Carol, Friend, [], 200), Is.EqualTo(Denied), "strangers");
    }

    [Test]
    public void Grade_300_allows_staff_friends_and_a_member_with_an_admin_of_the_chat_source_group()
    {
        Assert.That(Check(Staff, Carol, [], 300), Is.Null, "staff starts");
        Assert.That(Check(Carol, Staff, [], 300), Is.Null, "to staff");
        Assert.That(Check(Alice, Friend, [], 300), Is.Null, "friend");
        Assert.That(Check(Alice, Admin, [], 300, chatSource: "g2"), Is.Null, "member to the admin of the group it was opened from");
        Assert.That(Check(Admin, Alice, [], 300, chatSource: "g2"), Is.Null, "admin to a member");
    }

    [Test]
    public void Grade_300_refuses_strangers_and_unverified_chat_sources()
    {
        Assert.That(Check(Alice, Bob, [], 300), Is.EqualTo(Denied), "fellow members without a chat source");
        Assert.That(Check(Alice, Bob, [], 300, chatSource: "g1"), Is.EqualTo(Denied), "no admin among them in g1");
        Assert.That(Check(Alice, Admin, [], 300), Is.EqualTo(Denied), "member and admin, but no chat source");
        Assert.That(Check(Bob, Admin, [], 300, chatSource: "g2"), Is.EqualTo(Denied), "the sender is not in g2 (uni-im lets this pass)");
        Assert.That(Check(Carol, Admin, [], 300, chatSource: "g2"), Is.EqualTo(Denied), "the sender left g2");
        Assert.That(Check(Alice, Admin, [], 300, chatSource: "nope"), Is.EqualTo(Denied), "an unknown group");
        Assert.That(Check(Alice, Admin, ["admin"], 300), Is.EqualTo(Denied), "customer service is no exception at 300");
    }

    [Test]
    public void A_block_refuses_a_new_conversation_at_every_grade_and_only_one_way()
    {
        foreach (var grade in new int?[] { null, 0, 100, 200, 300 })
        {
            Assert.That(Check(Carol, Bob, [], grade), Is.EqualTo(Denied), $"grade {grade}");
            Assert.That(Check(Root, Bob, [], grade), Is.Null, $"grade {grade}: nobody else is affected");
        }
        Assert.That(Check(Bob, Carol, [], 0), Is.Null, "the blocker may still write");
    }

    [Test]
    public void A_super_admin_may_talk_to_anyone() => Assert.That(Check(Root, Bob, ["admin"], 200), Is.Null);

    [TestCase("uid1", new[] { "uid1" })]
    [TestCase("uid1, uid2", new[] { "uid1", "uid2" })]
    [TestCase("[\"uid1\",\"uid2\"]", new[] { "uid1", "uid2" })]
    [TestCase("false", new string[0])]
    [TestCase("", new string[0])]
    public void Admin_uid_reads_every_uni_im_shape(string value, string[] expected)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create("AdminUid", (string?)value)]).Build();
        Assert.That(UniImOptions.FromConfiguration(config).AdminUids, Is.EqualTo(expected));
    }

    [Test]
    public void Admin_uid_reads_an_indexed_list_from_environment_style_settings()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(
            [KeyValuePair.Create("AdminUid:0", (string?)"a"), KeyValuePair.Create("AdminUid:1", (string?)"b")]).Build();
        Assert.That(UniImOptions.FromConfiguration(config).AdminUids, Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void Customer_service_uids_is_read_as_an_alias_of_admin_uid()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([
            KeyValuePair.Create("AdminUid", (string?)"a"), KeyValuePair.Create("CustomerServiceUids", (string?)"b,a"),
            KeyValuePair.Create("customer_service_uids", (string?)"[\"c\"]")]).Build();
        Assert.That(UniImOptions.FromConfiguration(config).AdminUids, Is.EqualTo(new[] { "a", "b", "c" }));
    }

    [TestCase("0", 0)]
    [TestCase("100", 100)]
    [TestCase("200", 200)]
    [TestCase("300", 300)]
    public void Every_uni_im_grade_is_accepted(string value, int grade)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create("ConversationGrade", (string?)value)]).Build();
        Assert.That(UniImOptions.FromConfiguration(config).ConversationGrade, Is.EqualTo(grade));
    }

    [TestCase("50")]
    [TestCase("400")]
    [TestCase("high")]
    public void An_unknown_conversation_grade_stops_the_start_with_a_message_naming_the_grades(string grade)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create("ConversationGrade", (string?)grade)]).Build();
        var refused = Assert.Throws<InvalidOperationException>(() => UniImOptions.FromConfiguration(config));
        Assert.That(refused!.Message, Does.Contain("0 (anyone)").And.Contain("300").And.Contain($"'{grade}'"));
    }
}
