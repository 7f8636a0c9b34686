using System.Data.Common;
using System.Text;
using Dapper;
using Tessera.Core;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Storage.Relational.Internal;

internal sealed class RelationalUserStore(StoreContext db) : IUserStore
{
    private const string Columns =
        "id, email, display_name, password_hash, role, status, banned, banned_until, ban_reason, security_version, created_at, updated_at";

    public async Task<User?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return await db.QueryFirstOrNullAsync($"SELECT {Columns} FROM users WHERE id = @id{db.ForUpdate}", new { id }, Read, cancellationToken);
    }

    public async Task<IReadOnlyList<User>> FindByIdsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return [];
        }

        // In id order, so that where rows are locked two batches take them in the same order and never deadlock.
        var sql = $"SELECT {Columns} FROM users WHERE {db.Dialect.IsAnyOf("id", "@ids")} ORDER BY id{db.ForUpdate}";
        return await db.QueryAsync(sql, new { ids = ids.Distinct(StringComparer.Ordinal).ToArray() }, Read, cancellationToken);
    }

    public async Task<User?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(normalizedEmail);
        return await db.QueryFirstOrNullAsync(
            $"SELECT {Columns} FROM users WHERE email = @normalizedEmail{db.ForUpdate}", new { normalizedEmail }, Read, cancellationToken);
    }

    // ON CONFLICT instead of catching the unique violation: on PostgreSQL an error would abort the whole transaction,
    // and the caller may go on with it. Only a taken email is answered with false; a taken id still fails loudly. A
    // concurrent insert of the same email waits for the other transaction and then answers as it ended.
    private const string InsertSql = $"""
        INSERT INTO users ({Columns})
        VALUES (@Id, @Email, @DisplayName, @PasswordHash, @Role, @Status, @Banned, @BannedUntil, @BanReason, @SecurityVersion, @CreatedAt, @UpdatedAt)
        ON CONFLICT (email) DO NOTHING
        RETURNING 1
        """;

    public async Task<bool> InsertAsync(User user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        var inserted = await db.Connection.QueryAsync<int>(db.Command(InsertSql, Parameters(user), cancellationToken));
        return inserted.Any();
    }

    /// <summary>
    /// Inserts many users with the statement and parameters of <see cref="InsertAsync"/>, in batches where the provider
    /// sends them (one round trip per <paramref name="batchSize"/> users on PostgreSQL), one by one where it does not;
    /// answers, user by user, what <see cref="InsertAsync"/> would have (false: the email was taken, nothing written).
    /// Not part of <see cref="IUserStore"/>: the server registers one user at a time; this is for
    /// bench/Tessera.ScaleSeed, which writes 200,000 users exactly as the server would.
    /// </summary>
    internal async Task<bool[]> InsertManyAsync(IReadOnlyList<User> users, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(users);
        var inserted = new bool[users.Count];
        if (!db.CanBatch)
        {
            for (var i = 0; i < users.Count; i++)
            {
                inserted[i] = await InsertAsync(users[i], cancellationToken);
            }

            return inserted;
        }

        // RETURNING 1 makes one row per user written; the batch counts it as the statement's row changed.
        var affected = await db.ExecuteBatchAsync(InsertSql, [.. users.Select(Parameters)], batchSize, cancellationToken);
        for (var i = 0; i < affected.Length; i++)
        {
            inserted[i] = affected[i] == 1;
        }

        return inserted;
    }

    public async Task UpdateAsync(User user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        var sql = $"""
            UPDATE users SET
                email = @Email, display_name = @DisplayName, password_hash = @PasswordHash, role = @Role, status = @Status,
                banned = @Banned, banned_until = @BannedUntil, ban_reason = @BanReason, security_version = @SecurityVersion,
                created_at = @CreatedAt, updated_at = @UpdatedAt
            {db.Dialect.OwnUserUpdateMarker}
            WHERE id = @Id
            """;
        var changed = await db.Connection.ExecuteAsync(db.Command(sql, Parameters(user), cancellationToken));
        if (changed != 1)
        {
            throw new InvalidOperationException($"There is no user with id '{user.Id}' to update.");
        }
    }

    public async Task<bool> AnyAdminAsync(CancellationToken cancellationToken)
    {
        if (db.ForWrite && db.Dialect.FirstAdminLock is { } firstAdminLock)
        {
            await db.Connection.ExecuteAsync(db.Command(firstAdminLock, null, cancellationToken));
        }

        await using var reader = await db.Connection.ExecuteReaderAsync(
            db.Command("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')", null, cancellationToken));
        return await reader.ReadAsync(cancellationToken) && db.Dialect.ReadBoolean(reader, 0);
    }

    public async Task<UserPage> SearchAsync(UserSearch search, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.Page, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.PageSize, 1);

        var dialect = db.Dialect;
        var where = new List<string>(2);
        var parameters = new DynamicParameters();

        if (!string.IsNullOrWhiteSpace(search.Text))
        {
            // Both sides folded the same way, beyond ASCII; the pattern's own % _ \ are escaped.
            where.Add($"({dialect.MatchesIgnoringCase("email", "@pattern")} OR {dialect.MatchesIgnoringCase("display_name", "@pattern")})");
            parameters.Add("pattern", $"%{EscapeLike(dialect.SearchText(search.Text.Trim()))}%");
        }

        where.Add(search.Status switch
        {
            null => "status <> 'deleted'",
            UserStatusFilter.Active => "status = 'active'",
            UserStatusFilter.Deactivated => "status = 'deactivated'",
            UserStatusFilter.Deleted => "status = 'deleted'",
            UserStatusFilter.Banned => "banned = @banned AND (banned_until IS NULL OR banned_until > @now)",
            _ => throw new ArgumentOutOfRangeException(nameof(search), search.Status, "Unknown status filter."),
        });
        parameters.Add("banned", dialect.ToStored(true));
        parameters.Add("now", dialect.ToStored(search.Now));
        parameters.Add("take", search.PageSize);
        parameters.Add("skip", (long)(search.Page - 1) * search.PageSize);

        var condition = string.Join(" AND ", where);
        var total = await db.Connection.ExecuteScalarAsync<long>(
            db.Command($"SELECT count(*) FROM users WHERE {condition}", parameters, cancellationToken));
        var users = await db.QueryAsync(
            $"SELECT {Columns} FROM users WHERE {condition} ORDER BY {OrderOf(search.Sort)} LIMIT @take OFFSET @skip", parameters, Read, cancellationToken);
        return new UserPage(users, checked((int)total));
    }

    private string OrderOf(UserSort sort) => sort switch
    {
        UserSort.NewestFirst => "created_at DESC, id DESC",
        UserSort.Name => $"{db.Dialect.OrderIgnoringCase("display_name")}, id",
        UserSort.Email => "email, id",
        _ => "created_at, id",
    };

    // The row <-> record mapping of users lives here and only here: Read follows the order of Columns.
    private User Read(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Email = reader.GetString(1),
        DisplayName = reader.GetString(2),
        PasswordHash = reader.GetStringOrNull(3),
        Role = WireNames.ParseRole(reader.GetString(4)),
        Status = WireNames.ParseStatus(reader.GetString(5)),
        Banned = db.Dialect.ReadBoolean(reader, 6),
        BannedUntil = db.Dialect.ReadTimeOrNull(reader, 7),
        BanReason = reader.GetStringOrNull(8),
        SecurityVersion = reader.GetInt64(9),
        CreatedAt = db.Dialect.ReadTime(reader, 10),
        UpdatedAt = db.Dialect.ReadTime(reader, 11),
    };

    private object Parameters(User user) => new
    {
        user.Id,
        user.Email,
        user.DisplayName,
        user.PasswordHash,
        Role = WireNames.RoleName(user.Role),
        Status = WireNames.StatusName(user.Status),
        Banned = db.Dialect.ToStored(user.Banned),
        BannedUntil = db.Dialect.ToStored(user.BannedUntil),
        user.BanReason,
        user.SecurityVersion,
        CreatedAt = db.Dialect.ToStored(user.CreatedAt),
        UpdatedAt = db.Dialect.ToStored(user.UpdatedAt),
    };

    /// <summary>Makes <c>%</c>, <c>_</c> and the escape character itself match literally in a LIKE pattern with <c>ESCAPE '\'</c>.</summary>
    private static string EscapeLike(string text)
    {
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '%' or '_' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
