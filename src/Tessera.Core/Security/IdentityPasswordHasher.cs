using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Tessera.Core.Options;

namespace Tessera.Core.Security;

/// <summary>ASP.NET Core Identity's PBKDF2 hasher (HMAC-SHA512, 128-bit salt, versioned format).</summary>
public sealed class IdentityPasswordHasher : IPasswordHasher
{
    private static readonly object Subject = new();
    private readonly PasswordHasher<object> _hasher;

    public IdentityPasswordHasher(IOptions<TesseraOptions> options)
    {
        _hasher = new PasswordHasher<object>(Microsoft.Extensions.Options.Options.Create(new PasswordHasherOptions
        {
            CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
            IterationCount = options.Value.Passwords.HashIterations,
        }));
    }

    public string Hash(string password) => _hasher.HashPassword(Subject, password);

    public PasswordCheck Verify(string hash, string password)
    {
        try
        {
            return _hasher.VerifyHashedPassword(Subject, hash, password) switch
            {
                PasswordVerificationResult.Success => PasswordCheck.Success,
                PasswordVerificationResult.SuccessRehashNeeded => PasswordCheck.SuccessRehashNeeded,
                _ => PasswordCheck.Failed,
            };
        }
        catch (FormatException)
        {
            // A corrupt stored hash must not become a 500 or a way in.
            return PasswordCheck.Failed;
        }
    }
}
