using Tessera.Core.Throttling;
using Xunit;

namespace Tessera.Core.Tests.Throttling;

public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("::1", "::/64")]
    [InlineData("unknown", "unknown")]
    public void An_IPv6_client_is_counted_by_its_64_network_and_anything_else_as_given(string clientIp, string key) =>
        Assert.Equal(key, ClientAddress.ThrottleKey(clientIp));
}
