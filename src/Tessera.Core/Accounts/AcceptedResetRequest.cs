namespace Tessera.Core.Accounts;

/// <summary>A reset request accepted by the API, waiting to be looked up and sent.</summary>
public sealed record AcceptedResetRequest(string NormalizedEmail, string? IpAddress);
