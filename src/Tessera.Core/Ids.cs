using System.Buffers.Binary;

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

    private static readonly Lock LastGate = new();
    private static UInt128 _last;

    /// <summary>
    /// A UUIDv7 (RFC 9562) in 32 hex digits. Two made in the same millisecond differ only in their random bits, so they
    /// would sort at random (an audit log read newest first would show a disable before the create of the same
    /// millisecond): within a process each id is made greater than the one before, by raising its random low bits, so
    /// ids sort in the order they were made (RFC 9562 §6.2, monotonic random).
    /// </summary>
    private static string New(string prefix, TimeProvider clock)
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.CreateVersion7(clock.GetUtcNow()).TryWriteBytes(bytes, bigEndian: true, out _);
        var id = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        lock (LastGate)
        {
            if (id <= _last)
            {
                id = _last + 1;
            }

            _last = id;
        }

        return $"{prefix}_{id:x32}";
    }
}
