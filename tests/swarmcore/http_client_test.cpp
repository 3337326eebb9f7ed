// URL parsing (the HTTP exchange itself is covered by the server's loopback integration tests).
#include <gtest/gtest.h>

#include "swarmcore/http_client.hpp"

using namespace swarmboot;

TEST(ParseUrl, Table) {
  struct Case {
    const char* url;
    bool ok;
    const char* host;
    const char* port;
    const char* target;
  };
  for (const auto& c : {
           Case{"http://10.99.0.1:8080/boot.ipxe?mac=aa", true, "10.99.0.1", "8080", "/boot.ipxe?mac=aa"},
           Case{"http://server", true, "server", "80", "/"},
           Case{"http://[fd00::1]:81/x", true, "fd00::1", "81", "/x"},
           Case{"https://server/", false, "", "", ""},
           Case{"http://:80/", false, "", "", ""},
           Case{"http://host:99999999/", false, "", "", ""},
           Case{"http://host:8x/", false, "", "", ""},
           Case{"ftp://x", false, "", "", ""},
       }) {
    auto r = parse_url(c.url);
    EXPECT_EQ(r.ok(), c.ok) << c.url;
    if (r.ok() && c.ok) {
      EXPECT_EQ(r->host, c.host);
      EXPECT_EQ(r->port, c.port);
      EXPECT_EQ(r->target, c.target);
    }
  }
}

TEST(HttpRequest, ConnectionRefusedIsAnError) {
  HttpRequest req;
  req.url = "http://127.0.0.1:1/";
  req.timeout = std::chrono::seconds(2);
  auto r = http_request(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("could not GET"), std::string::npos);
}
