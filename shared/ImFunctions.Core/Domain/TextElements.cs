using System.Globalization;

namespace ImFunctions.Core.Domain;

/// <summary>Text as a reader counts its characters: text elements, where an emoji with its modifiers or a letter with its accents is one.</summary>
public static class TextElements
{
    /// <summary>
    /// The first <paramref name="maxElements"/> text elements of <paramref name="text"/> (all of it when shorter). It
    /// looks no further than that: a preview of a long message costs what the preview holds.
    /// </summary>
    public static string Truncate(string text, int maxElements)
    {
        var length = 0;
        for (var elements = 0; length < text.Length; elements++)
        {
            if (elements == maxElements) return text[..length];
            length += StringInfo.GetNextTextElementLength(text.AsSpan(length));
        }
        return text;
    }
}
