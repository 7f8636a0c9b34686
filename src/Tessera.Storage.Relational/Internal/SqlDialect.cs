using System.Data.Common;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

/// <summary>
/// What one database does differently in the statements of the relational store: how a time, a boolean and a list of
/// ids are written and read back, whether rows are locked, how case is folded in a search, and the few statements
/// that are not the same text on both.
/// </summary>
/// <remarks>
/// Values are converted here, explicitly, rather than by Dapper's type handlers: those are global to the process, and
/// both providers can be loaded in one process.
/// </remarks>
internal abstract class SqlDialect
{
    /// <summary>The database's name in messages ("SQLite", "PostgreSQL").</summary>
    public abstract string ProductName { get; }

    /// <summary>
    /// True where a write transaction locks the rows it reads to change (<c>SELECT ... FOR UPDATE</c>) so that writers
    /// of one user take turns; false where a write transaction holds the whole database from its start.
    /// </summary>
    public abstract bool LocksRows { get; }

    /// <summary>Prepended to the first statement of a read transaction, where the transaction itself cannot say it only reads.</summary>
    public virtual string? ReadOnlyPreamble => null;

    /// <summary>
    /// Run first by a write transaction that asks whether there is an admin, so that two nodes creating "the first
    /// admin" take turns (there is no row to lock yet); null where writers take turns anyway.
    /// </summary>
    public virtual string? FirstAdminLock => null;

    /// <summary>What goes between the SET list and the WHERE of Tessera's own UPDATE of a user; empty when nothing does.</summary>
    public virtual string OwnUserUpdateMarker => "";

    /// <summary>
    /// Revokes a user's unrevoked, unexpired sessions (parameters @userId, @at, @revokedBy, @reason, @onlySessionId,
    /// @exceptSessionId) and returns the ids it revoked, each one once.
    /// </summary>
    public abstract string RevokeSessions { get; }

    /// <summary>
    /// Revokes every unrevoked, unexpired session of the users in @userIds (a string[]; parameters also @at, @revokedBy,
    /// @reason) in one statement and returns (user_id, id) of each session it revoked, each one once.
    /// </summary>
    public abstract string RevokeSessionsOfUsers { get; }

    /// <summary>A condition that <paramref name="column"/> equals one of the values of the string[] parameter <paramref name="parameter"/>.</summary>
    public abstract string IsAnyOf(string column, string parameter);

    /// <summary>Deletes at most @limit sessions that ended before @cut (or were idle since before @idleCut).</summary>
    public abstract string PurgeEndedSessions { get; }

    /// <summary>The value a time is stored as: whole milliseconds, in UTC, whatever the column type.</summary>
    public abstract object ToStored(DateTimeOffset value);

    public object? ToStored(DateTimeOffset? value) => value is { } time ? ToStored(time) : null;

    public abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    public DateTimeOffset? ReadTimeOrNull(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ReadTime(reader, ordinal);

    /// <summary>The value a boolean is stored as.</summary>
    public abstract object ToStored(bool value);

    public abstract bool ReadBoolean(DbDataReader reader, int ordinal);

    /// <summary>The value a list of ids (an audit event's sessions) is stored as.</summary>
    public abstract object ToStored(IReadOnlyList<string> ids);

    public abstract string[] ReadIds(DbDataReader reader, int ordinal);

    /// <summary>A condition that <paramref name="column"/> matches the LIKE <paramref name="pattern"/> (escaped with <c>\</c>) whatever the case, beyond ASCII.</summary>
    public abstract string MatchesIgnoringCase(string column, string pattern);

    /// <summary>The search text as the pattern parameter of <see cref="MatchesIgnoringCase"/> wants it, before it is escaped.</summary>
    public virtual string SearchText(string text) => text;

    /// <summary>An ORDER BY term that sorts <paramref name="column"/> whatever the case.</summary>
    public abstract string OrderIgnoringCase(string column);

    /// <summary>Moves last_active_at forward to the time each entry gives, for sessions not revoked.</summary>
    public abstract (string Sql, object Parameters) TouchSessions(IReadOnlyCollection<SessionActivity> activity);
}
