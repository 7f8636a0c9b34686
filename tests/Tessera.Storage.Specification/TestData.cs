using Tessera.Core.Audit;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Storage.Specification;

/// <summary>Rows for the store tests of every provider, and the small transactions they are written with.</summary>
/// <remarks>Times are whole milliseconds in UTC: that is the precision every store is asked to keep.</remarks>
public static class TestData
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 26, 53, 589, TimeSpan.Zero);

    private static int s_sequence;

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static User NewUser(string? email = null, string? displayName = null, DateTimeOffset? createdAt = null)
    {
        var n = Interlocked.Increment(ref s_sequence);
        return new User
        {
            Id = $"usr_{Guid.CreateVersion7():N}",
            Email = email ?? $"person{n}@example.test",
            DisplayName = displayName ?? $"Person {n}",
            PasswordHash = $"AQAAAAIAAYagAAAAE{n:D8}",
            CreatedAt = createdAt ?? T0,
            UpdatedAt = createdAt ?? T0,
        };
    }

    public static Session NewSession(
        string userId, DateTimeOffset? lastActiveAt = null, DateTimeOffset? absoluteExpiresAt = null, DeviceInfo? device = null)
    {
        SecretTokens.Create(out var tokenHash);
        return new Session
        {
            Id = $"ses_{Guid.CreateVersion7():N}",
            TokenHash = tokenHash,
            UserId = userId,
            Device = device ?? new DeviceInfo(
                "Work laptop", DevicePlatform.Desktop, "Windows 11", "Chrome 120",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
            IpAddress = "203.0.113.7",
            CreatedAt = T0.AddHours(-1),
            LastActiveAt = lastActiveAt ?? T0,
            AbsoluteExpiresAt = absoluteExpiresAt ?? T0.AddDays(30),
        };
    }

    /// <summary>The event of <paramref name="userId"/> registering.</summary>
    public static AuditEvent NewEvent(string userId) =>
        NewEvent(AuditActions.UserRegistered, new Actor(ActorKind.User, userId), userId, T0);

    public static AuditEvent NewEvent(
        string action, Actor actor, string? targetUserId, DateTimeOffset at, IReadOnlyList<string>? sessionIds = null) => new()
    {
        Id = $"evt_{Guid.CreateVersion7():N}",
        At = at,
        Action = action,
        Actor = actor,
        TargetUserId = targetUserId,
        SessionIds = sessionIds ?? [],
    };

    public static PasswordResetToken NewResetToken(string userId, DateTimeOffset expiresAt)
    {
        SecretTokens.Create(out var tokenHash);
        return new PasswordResetToken(tokenHash, userId, T0.AddMinutes(-5), expiresAt, UsedAt: null);
    }

    /// <summary>Runs <paramref name="write"/> in one write transaction and commits it.</summary>
    public static async Task WriteAsync(ITesseraStore store, Func<IStoreTransaction, Task> write)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(write);
        await using var transaction = await store.BeginWriteAsync(Ct);
        await write(transaction);
        await transaction.CommitAsync(Ct);
    }

    /// <summary>Runs <paramref name="read"/> in one read transaction.</summary>
    public static async Task<T> ReadAsync<T>(ITesseraStore store, Func<IStoreTransaction, Task<T>> read)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(read);
        await using var transaction = await store.BeginReadAsync(Ct);
        return await read(transaction);
    }

    /// <summary>Inserts <paramref name="user"/> and <paramref name="sessions"/> of theirs in one transaction.</summary>
    public static Task InsertAsync(ITesseraStore store, User user, params Session[] sessions) => WriteAsync(store, async transaction =>
    {
        Assert.True(await transaction.Users.InsertAsync(user, Ct));
        foreach (var session in sessions)
        {
            await transaction.Sessions.InsertAsync(session, Ct);
        }
    });

    public static Task InsertAsync(ITesseraStore store, params User[] users) => WriteAsync(store, async transaction =>
    {
        foreach (var user in users)
        {
            Assert.True(await transaction.Users.InsertAsync(user, Ct));
        }
    });

    public static Task InsertAsync(ITesseraStore store, params Session[] sessions) => WriteAsync(store, async transaction =>
    {
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
