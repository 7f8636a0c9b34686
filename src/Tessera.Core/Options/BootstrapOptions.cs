namespace Tessera.Core.Options;

/// <summary>The admin made at start-up on a store without one (<c>Tessera:Bootstrap</c>).</summary>
public sealed class BootstrapOptions
{
    /// <summary>Create this admin at start while the store has no admin at all (a deleted one counts).</summary>
    public string? AdminEmail { get; set; }

    public string? AdminPassword { get; set; }
}
