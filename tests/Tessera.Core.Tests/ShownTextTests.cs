using Xunit;

namespace Tessera.Core.Tests;

/// <summary>The one rule for text shown to people, on its own: what it keeps, what it refuses, and the sentence it gives.</summary>
public sealed class ShownTextTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("   ", null)]
    [InlineData("  Ada Lovelace  ", "Ada Lovelace")]
    [InlineData("Zoë 李", "Zoë 李")]
    [InlineData("\U0001F469\u200D\U0001F4BB", "\U0001F469\u200D\U0001F4BB")]
    [InlineData("x\u200By", "x\u200By")]
    [InlineData("שלום", "שלום")]
    public void Ordinary_text_in_any_script_is_kept_trimmed(string? text, string? kept)
    {
        Assert.Equal(kept, ShownText.Check(text, "displayName", "The display name", 100));
    }

    [Theory]
    [InlineData("a\u0000b", "control characters")]
    [InlineData("a\u001Bb", "control characters")]
    [InlineData("a\u009Bb", "control characters")]
    [InlineData("a\u202Db", "direction of text")]
    [InlineData("a\u2068b", "direction of text")]
    [InlineData("\uFEFF\u200C", "visible character")]
    [InlineData("\u2800", "visible character")]
    [InlineData("\u0301\u034F", "visible character")]
    public void Disguising_text_is_refused_with_a_sentence_saying_what_to_change(string text, string detail)
    {
        var refused = Assert.Throws<TesseraException>(() => ShownText.Check(text, "reason", "The reason", 100));

        Assert.Equal(ErrorCodes.ValidationFailed, refused.Code);
        Assert.StartsWith("The reason ", refused.Message, StringComparison.Ordinal);
        Assert.Contains(detail, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_with_a_lone_surrogate_is_refused_as_not_valid_Unicode()
    {
        // Built here: a lone surrogate does not survive the trip through a test case's serialised arguments.
        foreach (var text in new[] { "a" + '\uD800' + "b", "a" + '\uDC00' })
        {
            var refused = Assert.Throws<TesseraException>(() => ShownText.Check(text, "reason", "The reason", 100));
            Assert.Equal("The reason is not valid Unicode text.", refused.Message);
        }
    }

    [Fact]
    public void Text_longer_than_the_limit_is_refused_after_trimming()
    {
        Assert.Equal(new string('a', 10), ShownText.Check($"  {new string('a', 10)}  ", "reason", "The reason", 10));
        var refused = Assert.Throws<TesseraException>(() => ShownText.Check(new string('a', 11), "reason", "The reason", 10));
        Assert.Equal("The reason must be at most 10 characters.", refused.Message);
    }
}
