using Tessera.Core.Devices;

namespace Tessera.Core.ExternalLogin;

/// <summary>A native client's exchange of the loopback flow's one-time code for a session on its device.</summary>
/// <param name="Code">The code from the loopback redirect.</param>
/// <param name="CodeVerifier">The PKCE verifier whose S256 challenge the client sent to the start.</param>
/// <param name="Device">The device as the client names it (like the password login's <c>device</c>); read from the User-Agent when null.</param>
public sealed record LoopbackExchange(string? Code, string? CodeVerifier, DeviceDescription? Device, string? UserAgent, string? IpAddress);
