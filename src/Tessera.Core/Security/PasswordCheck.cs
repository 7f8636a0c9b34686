namespace Tessera.Core.Security;

public enum PasswordCheck
{
    Failed,
    Success,

    /// <summary>Right password, but hashed with weaker settings than today's: store a fresh hash.</summary>
    SuccessRehashNeeded,
}
