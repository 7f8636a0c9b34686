using System.Data.Common;
using Dapper;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

internal sealed class RelationalPasswordResetTokenStore(StoreContext db) : IPasswordResetTokenStore
{
    private const string Columns = "token_hash, user_id, created_at, expires_at, used_at";

    public async Task InsertAsync(PasswordResetToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (db.LocksRows)
        {
            // The user first, then their tokens, in the order a reset locks them (see ConsumeAsync): a request and a
            // reset of one user at once must not wait for each other.
            await db.Connection.ExecuteAsync(db.Command($"SELECT 1 FROM users WHERE id = @UserId{db.ForUpdate}", new { token.UserId }, cancellationToken));
        }

        await InvalidateAllAsync(token.UserId, token.CreatedAt, cancellationToken);
        const string sql = $"INSERT INTO password_reset_tokens ({Columns}) VALUES (@TokenHash, @UserId, @CreatedAt, @ExpiresAt, @UsedAt)";
        await db.Connection.ExecuteAsync(db.Command(sql, new
        {
            TokenHash = token.TokenHash.ToArray(),
            token.UserId,
            CreatedAt = db.Dialect.ToStored(token.CreatedAt),
            ExpiresAt = db.Dialect.ToStored(token.ExpiresAt),
            UsedAt = db.Dialect.ToStored(token.UsedAt),
        }, cancellationToken));
    }

    public async Task<PasswordResetToken?> ConsumeAsync(TokenHash tokenHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hash = tokenHash.ToArray();
        var at = db.Dialect.ToStored(now);
        if (db.LocksRows)
        {
            // A reset goes on to change the token's user (locked with FOR UPDATE) and to mark all their tokens used.
            // Lock the user first, as every other write that touches a user and their rows does: otherwise two resets
            // of one user with two tokens each hold one token and wait for each other (a deadlock PostgreSQL would end
            // by failing one). Once the lock is granted, the statement below sees what the other reset committed.
            await db.Connection.ExecuteAsync(db.Command(
                $"""
                SELECT 1 FROM users
                WHERE id = (SELECT user_id FROM password_reset_tokens WHERE token_hash = @hash)
                {db.ForUpdate}
                """,
                new { hash },
                cancellationToken));
        }

        // One statement decides and marks, so two requests with the same token cannot both succeed.
        const string sql = $"""
            UPDATE password_reset_tokens SET used_at = @at
            WHERE token_hash = @hash AND used_at IS NULL AND expires_at > @at
            RETURNING {Columns}
            """;
        return await db.QueryFirstOrNullAsync(sql, new { hash, at }, Read, cancellationToken);
    }

    public async Task InvalidateAllAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        const string sql = "UPDATE password_reset_tokens SET used_at = @now WHERE user_id = @userId AND used_at IS NULL";
        await db.Connection.ExecuteAsync(db.Command(sql, new { userId, now = db.Dialect.ToStored(now) }, cancellationToken));
    }

    // The row -> record mapping of reset tokens: follows the order of Columns.
    private PasswordResetToken Read(DbDataReader reader) => new(
        TokenHash: TokenHash.FromBytes(reader.GetBytes(0)),
        UserId: reader.GetString(1),
        CreatedAt: db.Dialect.ReadTime(reader, 2),
        ExpiresAt: db.Dialect.ReadTime(reader, 3),
        UsedAt: db.Dialect.ReadTimeOrNull(reader, 4));
}
