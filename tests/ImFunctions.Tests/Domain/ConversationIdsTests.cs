using ImFunctions.Core.Domain;

namespace ImFunctions.Tests.Domain;

public sealed class ConversationIdsTests
{
    [TestCase("user-id-01", "user-id-02", "single_6dc7f01dad1bbc894c23a3cba20f5d83")]
    [TestCase("630cacf46293d20001f3c368", "65854fbd862066f18ae4f94b", "single_dc39c915398a20dbd57b5b8111ddac59")]
    [TestCase("a", "B", "single_42a7d1302fae91e6e5d7aa6d3b6d479a")]
    public void Single_chat_ids_match_uni_im_bit_for_bit_in_either_order(string first, string second, string expected)
    {
        Assert.That(ConversationIds.Single(first, second), Is.EqualTo(expected));
        Assert.That(ConversationIds.Single(second, first), Is.EqualTo(expected));
    }

    [Test]
    public void Group_chat_ids_prefix_the_group_id() =>
        Assert.That(ConversationIds.Group("65854fbd862066f18ae4f94b"), Is.EqualTo("group_65854fbd862066f18ae4f94b"));

    [Test]
    public void Message_ids_for_a_client_msg_id_are_stable_and_shaped_like_uni_id_ids()
    {
        var id = Ids.ForClientMessage("single_x", "u1", "c-1");
        Assert.That(id, Is.EqualTo(Ids.ForClientMessage("single_x", "u1", "c-1")));
        Assert.That(id, Does.Match("^[0-9a-f]{24}$"));
        Assert.That(Ids.ForClientMessage("single_x", "u2", "c-1"), Is.Not.EqualTo(id));
        Assert.That(Ids.New(), Does.Match("^[0-9a-f]{24}$"));
    }
}
