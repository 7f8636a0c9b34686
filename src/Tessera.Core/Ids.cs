namespace Tessera.Core;

/// <summary>Opaque, time-ordered string ids with a prefix that tells what they name ("usr_…", "ses_…").</summary>
public static class Ids
{
    public static string NewUserId(TimeProvider clock) => New("usr", clock);

    public static string NewSessionId(TimeProvider clock) => New("ses", clock);

    public static string NewAuditEventId(TimeProvider clock) => New("evt", clock);

    private static string New(string prefix, TimeProvider clock) =>
        $"{prefix}_{Guid.CreateVersion7(clock.GetUtcNow()):N}";
}
