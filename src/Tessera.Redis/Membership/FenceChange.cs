namespace Tessera.Redis.Membership;

internal enum FenceChangeKind
{
    None,
    Fenced,
    Trusted,
}

/// <summary>What an evaluation changed; <see cref="Reason"/> says why a node was fenced.</summary>
internal readonly record struct FenceChange(FenceChangeKind Kind, string? Reason)
{
    public static readonly FenceChange None = new(FenceChangeKind.None, null);
}
