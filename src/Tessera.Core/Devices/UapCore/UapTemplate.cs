using System.Text;
using System.Text.RegularExpressions;

namespace Tessera.Core.Devices.UapCore;

/// <summary>The replacement-template rules of uap-core, written once so every rule kind applies them alike.</summary>
internal static class UapTemplate
{
    /// <summary>
    /// Replaces every <c>$0</c>..<c>$9</c> in <paramref name="template"/> with that group of <paramref name="match"/>
    /// (nothing when the group did not take part or does not exist), trims the result and turns an empty one into
    /// <c>null</c>: the reference implementation's <c>replaceMatches</c> followed by its <c>|| null</c>.
    /// </summary>
    public static string? Expand(string template, Match match)
    {
        if (!template.Contains('$', StringComparison.Ordinal))
        {
            return NullIfEmpty(template.Trim());
        }

        var builder = new StringBuilder(template.Length + 32);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '$' && i + 1 < template.Length && char.IsAsciiDigit(template[i + 1]))
            {
                // Groups[n] past the last group is an unsuccessful, empty group, which is the "" the reference gives.
                var group = match.Groups[template[i + 1] - '0'];
                if (group.Success)
                {
                    builder.Append(group.ValueSpan);
                }

                i++;
            }
            else
            {
                builder.Append(c);
            }
        }

        return NullIfEmpty(builder.ToString().Trim());
    }

    /// <summary>
    /// The family rule of <c>user_agent_parsers</c>: only the first literal <c>$1</c> is replaced and nothing is trimmed,
    /// exactly as the reference implementation's <c>family_replacement.replace('$1', m[1])</c> does.
    /// </summary>
    public static string ExpandFirstGroupOnce(string template, Match match)
    {
        var at = template.IndexOf("$1", StringComparison.Ordinal);
        return at < 0 ? template : string.Concat(template.AsSpan(0, at), Group(match, 1) ?? "", template.AsSpan(at + 2));
    }

    /// <summary>Group <paramref name="number"/> of the match, or <c>null</c> when it did not take part or matched nothing.</summary>
    public static string? Group(Match match, int number)
    {
        var group = match.Groups[number];
        return group.Success && group.Length > 0 ? group.Value : null;
    }

    public static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
