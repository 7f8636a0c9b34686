namespace Tessera.Core;

/// <summary>Opaque, time-ordered string ids with a prefix that tells what they name ("usr_…", "ses_…").</summary>
public static class Ids
{
    public static string NewUserId(TimeProvider clock) => New("usr", clock);

    public static string NewSessionId(TimeProvider clock) => New("ses", clock);

    public static string NewAuditEventId(TimeProvider clock) => New("evt", clock);

    /// <summary>A service client ("cli_…"), an app that introspects and revokes sessions.</summary>
    public static string NewClientId(TimeProvider clock) => New("cli", clock);

    /// <summary>The longest id any store is asked about; ours are 36 characters.</summary>
    public const int MaxLength = 100;

    /// <summary>
    /// Whether <paramref name="id"/> could name anything: an id from a URL or a body that is blank, too long, or holds a
    /// control character (NUL, which PostgreSQL refuses in text) names nothing, and is answered as not found without a query.
    /// </summary>
    public static bool CanExist([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? id) =>
        !string.IsNullOrWhiteSpace(id) && id.Length <= MaxLength && !id.Any(char.IsControl);

    private static string New(string prefix, TimeProvider clock) =>
        $"{prefix}_{Guid.CreateVersion7(clock.GetUtcNow()):N}";
}
