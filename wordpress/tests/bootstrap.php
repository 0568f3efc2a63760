<?php
/**
 * WordPress loaded in a command-line PHP process for the site `scripts/wordpress-up` made in $site_dir:
 *   require 'bootstrap.php'; membersync_test_wordpress( '/tmp/x/site' );
 *
 * @package MemberSync_Companion_Tests
 */

function membersync_test_wordpress( string $site_dir ): void {
	$url                    = trim( (string) file_get_contents( $site_dir . '/../url' ) );
	$parts                  = parse_url( $url );
	$_SERVER['HTTP_HOST']   = $parts['host'] . ':' . $parts['port'];
	$_SERVER['SERVER_NAME'] = $parts['host'];
	$_SERVER['REQUEST_URI'] = '/';
	$_SERVER['SERVER_PORT'] = (string) $parts['port'];
	define( 'WP_USE_THEMES', false );
	global $wpdb, $wp_rewrite, $wp_query, $wp, $wp_the_query; // wp-load.php expects its globals to be global.
	require $site_dir . '/wp-load.php';
}
