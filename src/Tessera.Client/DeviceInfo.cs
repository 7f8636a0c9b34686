using System.Runtime.InteropServices;

namespace Tessera.Client;

/// <summary>
/// What a device says about itself at sign-in; the person sees it in their active sessions list ("Laptop, desktop,
/// Ubuntu 24.04"). Read from the machine by <see cref="FromMachine"/>; an app may set its own (a name the person chose).
/// </summary>
/// <param name="Name">The device's name, at most 100 characters; null to say nothing.</param>
/// <param name="Platform">One of <c>web</c>, <c>desktop</c>, <c>mobile</c>, <c>cli</c>, <c>api</c>.</param>
/// <param name="Os">The operating system and version, at most 100 characters; null to say nothing.</param>
public sealed record DeviceInfo(string? Name, string Platform, string? Os)
{
    /// <summary>The server's limit on <see cref="Name"/> and <see cref="Os"/>.</summary>
    internal const int MaxLength = 100;

    /// <summary>
    /// This machine: its host name, <c>mobile</c> on Android and iOS (else <c>desktop</c>), and the OS description the
    /// runtime gives. Values the server would refuse (empty, too long, control characters) are cleaned or left out, so
    /// that a strange machine name never stops a sign-in.
    /// </summary>
    public static DeviceInfo FromMachine()
    {
        var platform = OperatingSystem.IsAndroid() || OperatingSystem.IsIOS() ? "mobile" : "desktop";
        string? name;
        try
        {
            name = Environment.MachineName;
        }
        catch (InvalidOperationException)
        {
            name = null;
        }

        return new DeviceInfo(Clean(name), platform, Clean(RuntimeInformation.OSDescription));
    }

    /// <summary>Control characters out, trimmed, cut to <see cref="MaxLength"/>; null when nothing visible is left.</summary>
    internal static string? Clean(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var kept = new string(value.Where(character => !char.IsControl(character) && !IsDirectionOverride(character)).ToArray()).Trim();
        if (kept.Length > MaxLength)
        {
            kept = kept[..MaxLength].TrimEnd();
        }

        return kept.Length == 0 ? null : kept;
    }

    private static bool IsDirectionOverride(char character) =>
        character is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u200E' or '\u200F';
}
