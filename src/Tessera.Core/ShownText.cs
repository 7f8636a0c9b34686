using System.Globalization;
using System.Text;

namespace Tessera.Core;

/// <summary>
/// The one rule for free text that Tessera shows to people (display names, ban and deactivation reasons, device
/// names): trimmed, at most a given length, and nothing that hides or disguises what is shown. Refused are control
/// characters (C0 and C1, NUL included), the bidirectional embedding, override and isolate controls that reorder the
/// text around them (U+202A–U+202E, U+2066–U+2069), text that is not valid Unicode, and text made only of invisible
/// characters (zero-width spaces and joiners, byte-order marks, Hangul fillers, blank braille…).
/// </summary>
public static class ShownText
{
    /// <summary>
    /// <paramref name="value"/> trimmed, or null when absent or blank. Refusal is <c>validation_failed</c> on
    /// <paramref name="field"/>, with a sentence naming <paramref name="what"/> ("The display name") and what to change.
    /// </summary>
    public static string? Check(string? value, string field, string what, int maxLength)
    {
        if (value is null)
        {
            return null;
        }

        var trimmed = value.Trim();
        if (trimmed.Length == 0)
        {
            return null;
        }

        if (trimmed.Length > maxLength)
        {
            throw TesseraException.Validation(field, $"{what} must be at most {maxLength} characters.");
        }

        var visible = false;
        for (var index = 0; index < trimmed.Length;)
        {
            if (Rune.DecodeFromUtf16(trimmed.AsSpan(index), out var rune, out var length) != System.Buffers.OperationStatus.Done)
            {
                throw TesseraException.Validation(field, $"{what} is not valid Unicode text.");
            }

            if (Rune.IsControl(rune))
            {
                throw TesseraException.Validation(field, $"{what} must not contain control characters such as line breaks, tabs or NUL.");
            }

            if (IsDirectionControl(rune.Value))
            {
                throw TesseraException.Validation(field, $"{what} must not contain characters that reverse or isolate the direction of text (U+202A–U+202E, U+2066–U+2069).");
            }

            visible |= IsVisible(rune);
            index += length;
        }

        return visible ? trimmed : throw TesseraException.Validation(field, $"{what} must contain at least one visible character.");
    }

    /// <summary>The bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069).</summary>
    public static bool IsDirectionControl(int codePoint) => codePoint is (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069);

    /// <summary>Whether the text has anything a person could see (see <see cref="Check"/>); false for null.</summary>
    public static bool AnyVisible(string? text) => text is not null && text.EnumerateRunes().Any(IsVisible);

    private static bool IsVisible(Rune rune)
    {
        // Letters and symbols that render as nothing at all.
        if (rune.Value is 0x115F or 0x1160 or 0x17B4 or 0x17B5 or 0x2800 or 0x3164 or 0xFFA0)
        {
            return false;
        }

        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.Format or UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.Control or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned => false,
            _ => true,
        };
    }
}
