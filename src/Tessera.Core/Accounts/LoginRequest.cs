using Tessera.Core.Devices;

namespace Tessera.Core.Accounts;

/// <param name="UserAgent">The User-Agent of the person signing in: the request's own, or the visitor's a service client passed on.</param>
/// <param name="IpAddress">The address of the person signing in; it is what the per-address throttle counts and the audit records.</param>
/// <param name="ClientId">The service client the sign-in comes through (scope <c>login</c>, already authenticated), or null.</param>
public sealed record LoginRequest(
    string? Email, string? Password, DeviceDescription? Device, string? UserAgent, string? IpAddress, string? ClientId = null);
