using Tessera.Core;
using Tessera.Core.Clients;
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
        ArgumentNullException.ThrowIfNull(user);
        return Shown(user.DisplayName, user.Email);
    }

    /// <summary>A service client's name, by the same rule; its id when the name shows nothing.</summary>
    public static string Shown(ServiceClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Shown(client.Name, client.Id);
    }

    private static string Shown(string? text, string fallback)
    {
        var name = text ?? string.Empty;
        if (name.Any(IsDirectionControl))
        {
            name = string.Concat(name.Where(c => !IsDirectionControl(c)));
        }

        return ShownText.AnyVisible(name) ? name : fallback;
    }

    private static bool IsDirectionControl(char c) => ShownText.IsDirectionControl(c);

    /// <summary><see cref="Shown"/> for a sentence: isolated when it holds anything but left-to-right letters.</summary>
    public static string InText(User user) => Isolated(Shown(user));

    /// <summary>A service client's name for a sentence, isolated like a person's.</summary>
    public static string InText(ServiceClient client) => Isolated(Shown(client));

    // Below U+0590 every script is written left to right and no character changes direction.
    private static string Isolated(string shown) =>
        shown.Any(c => c >= '\u0590') ? $"{FirstStrongIsolate}{shown}{PopDirectionalIsolate}" : shown;
}
