using System.Net;
using System.Net.Sockets;

namespace Tessera.Core.Throttling;

/// <summary>How a client address is counted against per-address budgets.</summary>
public static class ClientAddress
{
    /// <summary>
    /// The key a client's attempts are counted under: an IPv4 address as it is, an IPv6 address by its /64 network.
    /// One IPv6 subscriber is usually given a whole /64 and may use any address in it, so counting each address alone
    /// would give one client 2^64 budgets. Anything that is not an address (no peer, a test name) is counted as given.
    /// </summary>
    public static string ThrottleKey(string clientIp)
    {
        ArgumentNullException.ThrowIfNull(clientIp);
        if (!IPAddress.TryParse(clientIp, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return clientIp;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
