using ImFunctions.Core.Domain;

namespace ImFunctions.Tests.Domain;

/// <summary>Previews and default group names are cut at characters as a reader counts them, never inside one.</summary>
public sealed class TextElementsTests
{
    [TestCase("", 3, "")]
    [TestCase("abc", 3, "abc")]
    [TestCase("abcd", 3, "abc")]
    [TestCase("abcd", 0, "")]
    [TestCase("你好世界", 2, "你好")]
    [TestCase("👍🏽👍🏽👍🏽", 2, "👍🏽👍🏽")]                 // an emoji with its skin tone: four UTF-16 units, one character
    [TestCase("e\u0301e\u0301e\u0301", 1, "e\u0301")]         // a letter with its combining accent
    [TestCase("👨‍👩‍👧x", 1, "👨‍👩‍👧")]                     // a family joined by zero-width joiners
    public void Truncate_keeps_the_first_text_elements(string text, int max, string expected) =>
        Assert.That(TextElements.Truncate(text, max), Is.EqualTo(expected));

    [Test]
    public void A_text_no_longer_than_the_limit_is_returned_as_it_is()
    {
        var text = new string('a', 50);
        Assert.That(TextElements.Truncate(text, 50), Is.SameAs(text));
    }
}
