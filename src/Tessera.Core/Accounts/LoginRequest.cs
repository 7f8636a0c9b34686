using Tessera.Core.Devices;

namespace Tessera.Core.Accounts;

public sealed record LoginRequest(string? Email, string? Password, DeviceDescription? Device, string? UserAgent, string? IpAddress);
