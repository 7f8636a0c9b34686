namespace Tessera.Core.Options;

/// <summary>What a new password must be, and how it is hashed (<c>Tessera:Passwords</c>).</summary>
public sealed class PasswordOptions
{
    public int MinimumLength { get; set; } = 8;

    /// <summary>NIST SP 800-63B asks to allow at least 64 characters.</summary>
    public int MaximumLength { get; set; } = 256;

    /// <summary>The lowest zxcvbn score (0–4) a new password needs; 2 keeps out what an online attacker tries first.</summary>
    public int MinimumScore { get; set; } = 2;

    /// <summary>PBKDF2 (HMAC-SHA512) iterations; the ASP.NET Core Identity default. Lower it only in tests.</summary>
    public int HashIterations { get; set; } = 100_000;

    public TimeSpan ResetTokenLifetime { get; set; } = TimeSpan.FromHours(1);
}
