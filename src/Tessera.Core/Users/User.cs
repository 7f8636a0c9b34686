namespace Tessera.Core.Users;

public enum UserRole
{
    User,
    Admin,
}

public enum UserStatus
{
    Active,
    Deactivated,
    Deleted,
}

/// <summary>A person who can sign in. Immutable: a change is a new record written in one transaction.</summary>
public sealed record User
{
    public required string Id { get; init; }

    /// <summary>Normalised (trimmed, lower-case) email; unique among users.</summary>
    public required string Email { get; init; }

    public required string DisplayName { get; init; }

    /// <summary>Null once the user is deleted: nothing can sign in as them.</summary>
    public string? PasswordHash { get; init; }

    public UserRole Role { get; init; } = UserRole.User;

    public UserStatus Status { get; init; } = UserStatus.Active;

    /// <summary>True while a ban is in force or waiting for its <see cref="BannedUntil"/> to pass.</summary>
    public bool Banned { get; init; }

    /// <summary>When a timed ban ends; null with <see cref="Banned"/> means "until unbanned".</summary>
    public DateTimeOffset? BannedUntil { get; init; }

    public string? BanReason { get; init; }

    /// <summary>Incremented by every change that affects access, so a stale copy can be told from a fresh one.</summary>
    public long SecurityVersion { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>A ban blocks only while its end, if it has one, is still ahead.</summary>
    public bool IsBannedAt(DateTimeOffset now) => Banned && (BannedUntil is null || BannedUntil > now);

    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    /// <summary>
    /// The value a deleted user's email is replaced with. It has no <c>@</c>, so registration (which takes only valid
    /// addresses) can never produce it: nobody can take a deleted user's tombstone in advance and make the deletion
    /// fail on the unique email column.
    /// </summary>
    public static string DeletedEmail(string userId) => $"deleted:{userId}";
}
