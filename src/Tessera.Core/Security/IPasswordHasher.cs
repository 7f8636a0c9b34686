namespace Tessera.Core.Security;

/// <summary>Slow, salted password hashing.</summary>
public interface IPasswordHasher
{
    string Hash(string password);

    PasswordCheck Verify(string hash, string password);
}
