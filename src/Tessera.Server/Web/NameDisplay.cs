using System.Globalization;
using System.Text;
using Tessera.Core.Users;

namespace Tessera.Server.Web;

/// <summary>
/// A person's display name as the pages show it. The name is the person's own text: it may be written right to left, carry
/// a direction override, or (from before names were checked, or written straight into the database) show nothing at all.
/// In markup it goes in an element with the <c>name</c> class (CSS isolates its direction); in a sentence (a notice, a
/// dialog's title) it is wrapped in Unicode isolates, so that it cannot reorder the words around it.
/// </summary>
internal static class NameDisplay
{
    private const char FirstStrongIsolate = '\u2068';
    private const char PopDirectionalIsolate = '\u2069';

    /// <summary>
    /// The name without direction overrides, embeddings and isolates (a name has no use for them, and an override makes
    /// it read backwards: "evil" as "live"); or the email when the name has nothing a person could see (a link must have
    /// a name). The API refuses such names; these may be in the store from before, or from a change made in SQL.
    /// </summary>
    public static string Shown(User user)
    {
        var name = user.DisplayName ?? string.Empty;
        if (name.Any(IsDirectionControl))
        {
            name = string.Concat(name.Where(c => !IsDirectionControl(c)));
        }

        return IsVisible(name) ? name : user.Email;
    }

    private static bool IsDirectionControl(char c) => c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    /// <summary><see cref="Shown"/> for a sentence: isolated when it holds anything but left-to-right letters.</summary>
    public static string InText(User user)
    {
        var shown = Shown(user);
        // Below U+0590 every script is written left to right and no character changes direction.
        return shown.Any(c => c >= '\u0590') ? $"{FirstStrongIsolate}{shown}{PopDirectionalIsolate}" : shown;
    }

    private static bool IsVisible(string? text) =>
        text is not null && text.EnumerateRunes().Any(rune => Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned => false,

            // Letters and symbols that draw nothing: Hangul fillers, the braille blank.
            _ => rune.Value is not (0x115F or 0x1160 or 0x3164 or 0xFFA0 or 0x2800),
        });
}
