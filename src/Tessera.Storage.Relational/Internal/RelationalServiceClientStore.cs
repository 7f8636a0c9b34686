using System.Data.Common;
using Dapper;
using Tessera.Core.Clients;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

internal sealed class RelationalServiceClientStore(StoreContext db) : IServiceClientStore
{
    private const string Columns =
        "id, name, scopes, created_at, created_by, secret_hash, previous_secret_hash, previous_secret_expires_at, rotated_at, disabled_at";

    public async Task InsertAsync(ServiceClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        const string sql = $"""
            INSERT INTO service_clients ({Columns})
            VALUES (@Id, @Name, @Scopes, @CreatedAt, @CreatedBy, @SecretHash, @PreviousSecretHash, @PreviousSecretExpiresAt, @RotatedAt, @DisabledAt)
            """;
        await db.Connection.ExecuteAsync(db.Command(sql, Parameters(client), cancellationToken));
    }

    public Task<ServiceClient?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return db.QueryFirstOrNullAsync($"SELECT {Columns} FROM service_clients WHERE id = @id{db.ForUpdate}", new { id }, Read, cancellationToken);
    }

    public async Task<IReadOnlyList<ServiceClient>> ListAsync(CancellationToken cancellationToken) =>
        await db.QueryAsync($"SELECT {Columns} FROM service_clients ORDER BY created_at, id", null, Read, cancellationToken);

    public async Task UpdateAsync(ServiceClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        const string sql = """
            UPDATE service_clients SET
                name = @Name, scopes = @Scopes, created_at = @CreatedAt, created_by = @CreatedBy, secret_hash = @SecretHash,
                previous_secret_hash = @PreviousSecretHash, previous_secret_expires_at = @PreviousSecretExpiresAt,
                rotated_at = @RotatedAt, disabled_at = @DisabledAt
            WHERE id = @Id
            """;
        await db.Connection.ExecuteAsync(db.Command(sql, Parameters(client), cancellationToken));
    }

    private object Parameters(ServiceClient client) => new
    {
        client.Id,
        client.Name,
        Scopes = string.Join(' ', client.Scopes),
        CreatedAt = db.Dialect.ToStored(client.CreatedAt),
        client.CreatedBy,
        SecretHash = client.SecretHash.ToArray(),
        PreviousSecretHash = client.PreviousSecretHash?.ToArray(),
        PreviousSecretExpiresAt = db.Dialect.ToStored(client.PreviousSecretExpiresAt),
        RotatedAt = db.Dialect.ToStored(client.RotatedAt),
        DisabledAt = db.Dialect.ToStored(client.DisabledAt),
    };

    // The row -> record mapping of clients: follows the order of Columns.
    private ServiceClient Read(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Name = reader.GetString(1),
        Scopes = reader.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        CreatedAt = db.Dialect.ReadTime(reader, 3),
        CreatedBy = reader.GetString(4),
        SecretHash = TokenHash.FromBytes(reader.GetBytes(5)),
        PreviousSecretHash = reader.IsDBNull(6) ? null : TokenHash.FromBytes(reader.GetBytes(6)),
        PreviousSecretExpiresAt = db.Dialect.ReadTimeOrNull(reader, 7),
        RotatedAt = db.Dialect.ReadTimeOrNull(reader, 8),
        DisabledAt = db.Dialect.ReadTimeOrNull(reader, 9),
    };
}
