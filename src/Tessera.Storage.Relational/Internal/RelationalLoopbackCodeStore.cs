using System.Data.Common;
using Dapper;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

internal sealed class RelationalLoopbackCodeStore(StoreContext db) : ILoopbackCodeStore
{
    private const string Columns = "code_hash, user_id, provider, code_challenge, created_at, expires_at, used_at, session_id";

    public async Task InsertAsync(LoopbackCode code, DateTimeOffset purgeBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);

        // Codes live a minute; the rows of old ones go as new ones come, so the table stays as small as the traffic of an hour.
        await db.Connection.ExecuteAsync(db.Command(
            "DELETE FROM external_loopback_codes WHERE expires_at < @purgeBefore",
            new { purgeBefore = db.Dialect.ToStored(purgeBefore) }, cancellationToken));
        const string sql = $"""
            INSERT INTO external_loopback_codes ({Columns})
            VALUES (@CodeHash, @UserId, @Provider, @CodeChallenge, @CreatedAt, @ExpiresAt, @UsedAt, @SessionId)
            """;
        await db.Connection.ExecuteAsync(db.Command(sql, new
        {
            CodeHash = code.CodeHash.ToArray(),
            code.UserId,
            code.Provider,
            code.CodeChallenge,
            CreatedAt = db.Dialect.ToStored(code.CreatedAt),
            ExpiresAt = db.Dialect.ToStored(code.ExpiresAt),
            UsedAt = db.Dialect.ToStored(code.UsedAt),
            code.SessionId,
        }, cancellationToken));
    }

    public async Task<LoopbackCode?> ConsumeAsync(TokenHash codeHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hash = codeHash.ToArray();

        // Read (and, where the store locks rows, lock) the row as it is, then mark it: of two exchanges at once, the second
        // waits for the first to commit and reads it used. SQLite serialises writers, so the read is already exclusive.
        var found = await db.QueryFirstOrNullAsync(
            $"SELECT {Columns} FROM external_loopback_codes WHERE code_hash = @hash{db.ForUpdate}", new { hash }, Read, cancellationToken);
        if (found is { UsedAt: null })
        {
            await db.Connection.ExecuteAsync(db.Command(
                "UPDATE external_loopback_codes SET used_at = @at WHERE code_hash = @hash AND used_at IS NULL",
                new { hash, at = db.Dialect.ToStored(now) }, cancellationToken));
        }

        return found;
    }

    public async Task RecordSessionAsync(TokenHash codeHash, string sessionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        await db.Connection.ExecuteAsync(db.Command(
            "UPDATE external_loopback_codes SET session_id = @sessionId WHERE code_hash = @hash",
            new { hash = codeHash.ToArray(), sessionId }, cancellationToken));
    }

    // The row -> record mapping of codes: follows the order of Columns.
    private LoopbackCode Read(DbDataReader reader) => new(
        CodeHash: TokenHash.FromBytes(reader.GetBytes(0)),
        UserId: reader.GetString(1),
        Provider: reader.GetString(2),
        CodeChallenge: reader.GetString(3),
        CreatedAt: db.Dialect.ReadTime(reader, 4),
        ExpiresAt: db.Dialect.ReadTime(reader, 5),
        UsedAt: db.Dialect.ReadTimeOrNull(reader, 6),
        SessionId: reader.IsDBNull(7) ? null : reader.GetString(7));
}
