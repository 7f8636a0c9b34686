using System.Data.Common;
using Dapper;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite.Internal;

internal sealed class SqlitePasswordResetTokenStore(SqliteContext db) : IPasswordResetTokenStore
{
    private const string Columns = "token_hash, user_id, created_at, expires_at, used_at";

    public async Task InsertAsync(PasswordResetToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        await InvalidateAllAsync(token.UserId, token.CreatedAt, cancellationToken);
        const string sql = $"INSERT INTO password_reset_tokens ({Columns}) VALUES (@TokenHash, @UserId, @CreatedAt, @ExpiresAt, @UsedAt)";
        await db.Connection.ExecuteAsync(db.Command(sql, new
        {
            TokenHash = token.TokenHash.ToArray(),
            token.UserId,
            CreatedAt = UnixTime.ToMilliseconds(token.CreatedAt),
            ExpiresAt = UnixTime.ToMilliseconds(token.ExpiresAt),
            UsedAt = UnixTime.ToMilliseconds(token.UsedAt),
        }, cancellationToken));
    }

    public async Task<PasswordResetToken?> ConsumeAsync(TokenHash tokenHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One statement decides and marks, so two requests with the same token cannot both succeed.
        const string sql = $"""
            UPDATE password_reset_tokens SET used_at = @now
            WHERE token_hash = @tokenHash AND used_at IS NULL AND expires_at > @now
            RETURNING {Columns}
            """;
        await using var reader = await db.Connection.ExecuteReaderAsync(db.Command(
            sql, new { tokenHash = tokenHash.ToArray(), now = UnixTime.ToMilliseconds(now) }, cancellationToken));
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task InvalidateAllAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        const string sql = "UPDATE password_reset_tokens SET used_at = @now WHERE user_id = @userId AND used_at IS NULL";
        await db.Connection.ExecuteAsync(db.Command(sql, new { userId, now = UnixTime.ToMilliseconds(now) }, cancellationToken));
    }

    // The row -> record mapping of reset tokens: follows the order of Columns.
    private static PasswordResetToken Read(DbDataReader reader) => new(
        TokenHash: TokenHash.FromBytes(reader.GetBytes(0)),
        UserId: reader.GetString(1),
        CreatedAt: reader.GetTime(2),
        ExpiresAt: reader.GetTime(3),
        UsedAt: reader.GetTimeOrNull(4));
}
