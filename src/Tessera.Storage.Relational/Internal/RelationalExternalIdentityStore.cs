using System.Data.Common;
using Dapper;
using Tessera.Core.ExternalLogin;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

internal sealed class RelationalExternalIdentityStore(StoreContext db) : IExternalIdentityStore
{
    private const string Columns = "provider, subject, user_id, email, linked_at, last_used_at, refresh_token";

    public Task<ExternalIdentity?> FindAsync(string provider, string subject, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(subject);
        return db.QueryFirstOrNullAsync(
            $"SELECT {Columns} FROM external_identities WHERE provider = @provider AND subject = @subject{db.ForUpdate}",
            new { provider, subject }, Read, cancellationToken);
    }

    public async Task<IReadOnlyList<ExternalIdentity>> ListByUserAsync(string userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return await db.QueryAsync(
            $"SELECT {Columns} FROM external_identities WHERE user_id = @userId ORDER BY linked_at, provider, subject",
            new { userId }, Read, cancellationToken);
    }

    public async Task<bool> InsertAsync(ExternalIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        // ON CONFLICT rather than catching the violation, as for users: on PostgreSQL an error would abort the caller's
        // transaction. Two first sign-ins of one person at once: the second waits for the first and then answers false.
        const string sql = $"""
            INSERT INTO external_identities ({Columns})
            VALUES (@Provider, @Subject, @UserId, @Email, @LinkedAt, @LastUsedAt, @ProtectedRefreshToken)
            ON CONFLICT (provider, subject) DO NOTHING
            RETURNING 1
            """;
        var inserted = await db.Connection.QueryAsync<int>(db.Command(sql, Parameters(identity), cancellationToken));
        return inserted.Any();
    }

    public async Task UpdateAsync(ExternalIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        const string sql = """
            UPDATE external_identities SET
                user_id = @UserId, email = @Email, linked_at = @LinkedAt, last_used_at = @LastUsedAt, refresh_token = @ProtectedRefreshToken
            WHERE provider = @Provider AND subject = @Subject
            """;
        var changed = await db.Connection.ExecuteAsync(db.Command(sql, Parameters(identity), cancellationToken));
        if (changed != 1)
        {
            throw new InvalidOperationException($"There is no link of '{identity.Subject}' at '{identity.Provider}' to update.");
        }
    }

    public async Task<bool> DeleteAsync(string userId, string provider, string subject, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(subject);
        var deleted = await db.Connection.ExecuteAsync(db.Command(
            "DELETE FROM external_identities WHERE user_id = @userId AND provider = @provider AND subject = @subject",
            new { userId, provider, subject }, cancellationToken));
        return deleted == 1;
    }

    private object Parameters(ExternalIdentity identity) => new
    {
        identity.Provider,
        identity.Subject,
        identity.UserId,
        identity.Email,
        LinkedAt = db.Dialect.ToStored(identity.LinkedAt),
        LastUsedAt = db.Dialect.ToStored(identity.LastUsedAt),
        identity.ProtectedRefreshToken,
    };

    // The row -> record mapping of links: follows the order of Columns.
    private ExternalIdentity Read(DbDataReader reader) => new()
    {
        Provider = reader.GetString(0),
        Subject = reader.GetString(1),
        UserId = reader.GetString(2),
        Email = reader.GetStringOrNull(3),
        LinkedAt = db.Dialect.ReadTime(reader, 4),
        LastUsedAt = db.Dialect.ReadTimeOrNull(reader, 5),
        ProtectedRefreshToken = reader.GetStringOrNull(6),
    };
}
