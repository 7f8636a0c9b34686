namespace Tessera.Core.Throttling;

/// <summary>The paths that check a credential or write for someone not yet signed in, each with its own budgets.</summary>
public enum ThrottledAction
{
    Login,
    PasswordChange,
    Registration,
    PasswordResetRequest,

    /// <summary>A service client authenticating at /oauth2 (only failures count, per client address).</summary>
    ClientAuthentication,
}
