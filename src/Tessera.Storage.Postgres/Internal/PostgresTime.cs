namespace Tessera.Storage.Postgres.Internal;

/// <summary>
/// Times go to PostgreSQL as whole milliseconds in UTC. timestamptz could keep microseconds, but every store keeps
/// milliseconds (see the store specification; SQLite stores unix milliseconds), so both stores give back the same
/// values and compare the same: a time read back equals the time written, truncated to the millisecond. Npgsql
/// also wants an offset of zero for timestamptz.
/// </summary>
internal static class PostgresTime
{
    public static DateTimeOffset ToStored(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    public static DateTimeOffset? ToStored(DateTimeOffset? value) => value is { } time ? ToStored(time) : null;
}
