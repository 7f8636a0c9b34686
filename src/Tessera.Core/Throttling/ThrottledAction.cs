namespace Tessera.Core.Throttling;

/// <summary>The paths that check a credential or write for someone not yet signed in, each with its own budgets.</summary>
public enum ThrottledAction
{
    Login,
    PasswordChange,
    Registration,
    PasswordResetRequest,
}
