using Tessera.Core.Audit;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>Rows for the PostgreSQL-only tests, and the small transactions they are written with.</summary>
internal static class TestData
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 26, 53, 589, TimeSpan.Zero);

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static User NewUser(string? email = null) => new()
    {
        Id = $"usr_{Guid.CreateVersion7():N}",
        Email = email ?? $"{Guid.NewGuid():N}@example.test",
        DisplayName = "Test Person",
        PasswordHash = "AQAAAAIAAYagAAAAEhash",
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    public static Session NewSession(string userId, DateTimeOffset? lastActiveAt = null)
    {
        SecretTokens.Create(out var tokenHash);
        return new Session
        {
            Id = $"ses_{Guid.CreateVersion7():N}",
            TokenHash = tokenHash,
            UserId = userId,
            Device = new DeviceInfo("Browser", DevicePlatform.Web, "Linux", "Firefox 128", "Mozilla/5.0"),
            CreatedAt = T0,
            LastActiveAt = lastActiveAt ?? T0,
            AbsoluteExpiresAt = T0.AddDays(30),
        };
    }

    public static AuditEvent NewEvent(string userId) => new()
    {
        Id = $"evt_{Guid.CreateVersion7():N}",
        At = T0,
        Action = AuditActions.UserRegistered,
        Actor = new Actor(ActorKind.User, userId),
        TargetUserId = userId,
    };

    public static async Task WriteAsync(ITesseraStore store, Func<IStoreTransaction, Task> write)
    {
        await using var transaction = await store.BeginWriteAsync(Ct);
        await write(transaction);
        await transaction.CommitAsync(Ct);
    }

    public static async Task<T> ReadAsync<T>(ITesseraStore store, Func<IStoreTransaction, Task<T>> read)
    {
        await using var transaction = await store.BeginReadAsync(Ct);
        return await read(transaction);
    }

    public static Task InsertAsync(ITesseraStore store, User user, params Session[] sessions) => WriteAsync(store, async transaction =>
    {
        Assert.True(await transaction.Users.InsertAsync(user, Ct));
        foreach (var session in sessions)
        {
            await transaction.Sessions.InsertAsync(session, Ct);
        }
    });

    public static Task<User?> FindUserAsync(ITesseraStore store, string id) =>
        ReadAsync(store, transaction => transaction.Users.FindByIdAsync(id, Ct));

    public static Task<Session?> FindSessionAsync(ITesseraStore store, string id) =>
        ReadAsync(store, transaction => transaction.Sessions.FindByIdAsync(id, Ct));
}
