<?php
/**
 * Run PHP code (read from stdin) inside the test site's WordPress; print what it returns as JSON.
 *   echo 'return get_user_meta( 2 );' | php wp-eval.php /tmp/x/site
 *
 * @package MemberSync_Companion_Tests
 */

require __DIR__ . '/bootstrap.php';
membersync_test_wordpress( $argv[1] );
$membersync_result = eval( stream_get_contents( STDIN ) ); // phpcs:ignore Squiz.PHP.Eval -- test helper
echo wp_json_encode( $membersync_result, JSON_UNESCAPED_SLASHES );
