using ImFunctions.Core.Domain;
using Microsoft.Extensions.Configuration;

namespace ImFunctions.Tests.Domain;

public sealed class TalkPolicyTests
{
    static readonly User Admin = new() { Id = "admin", ExtUid = "e-admin" };
    static readonly User Alice = new() { Id = "alice", ExtUid = "e-alice" };
    static readonly User Root = new() { Id = "root", ExtUid = "e-root", Role = ["admin"] };

    static string? Check(User from, string to, string[] admins, int? grade) =>
        new TalkPolicy(new UniImOptions { AdminUids = admins, ConversationGrade = grade }).CheckNewConversation(from, to)?.Code;

    [Test]
    public void Without_rules_anyone_may_start_a_conversation() => Assert.That(Check(Alice, "bob", [], null), Is.Null);

    [Test]
    public void Admin_uid_blocks_a_pair_without_an_admin_with_40001()
    {
        Assert.That(Check(Alice, "bob", ["admin"], null), Is.EqualTo("40001"));
        Assert.That(Check(Alice, "admin", ["admin"], null), Is.Null);
        Assert.That(Check(Admin, "bob", ["admin"], null), Is.Null);
    }

    [Test]
    public void Grade_0_lets_anyone_talk_even_with_admin_uid_set() => Assert.That(Check(Alice, "bob", ["admin"], 0), Is.Null);

    [Test]
    public void Grade_100_allows_only_customer_service_until_friends_and_groups_exist()
    {
        Assert.That(Check(Alice, "bob", ["admin"], 100), Is.EqualTo("40001"));
        Assert.That(Check(Alice, "admin", ["admin"], 100), Is.Null);
        Assert.That(Check(Alice, "bob", [], 100), Is.EqualTo(ErrorCodes.NoPermission));
    }

    [Test]
    public void Grade_200_allows_no_new_conversation_between_strangers() =>
        Assert.That(Check(Alice, "admin", ["admin"], 200), Is.EqualTo(ErrorCodes.NoPermission));

    [Test]
    public void A_super_admin_may_talk_to_anyone() => Assert.That(Check(Root, "bob", ["admin"], 200), Is.Null);

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

    [TestCase("50")]
    [TestCase("300")]
    [TestCase("high")]
    public void An_unknown_conversation_grade_is_a_configuration_error(string grade)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create("ConversationGrade", (string?)grade)]).Build();
        Assert.Throws<InvalidOperationException>(() => UniImOptions.FromConfiguration(config));
    }
}
