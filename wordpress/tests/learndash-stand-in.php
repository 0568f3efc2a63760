<?php
/**
 * Plugin Name: LearnDash stand-in (MemberSync's tests only)
 * Description: The few LearnDash functions, post types, hooks and REST routes the MemberSync companion calls or
 *              listens to, behaving as LearnDash 5.0.5's do for what the companion relies on. LearnDash itself is
 *              not free to install, so the tests run the companion against this. Never install it on a real site.
 * License:     GPL-2.0-or-later
 *
 * @package MemberSync_Companion_Tests
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'LEARNDASH_VERSION', '5.0.5-stand-in' );

add_action(
	'init',
	function () {
		foreach ( array( 'sfwd-courses', 'sfwd-lessons', 'sfwd-topic', 'sfwd-quiz', 'groups', 'sfwd-essays', 'sfwd-assignment' ) as $type ) {
			register_post_type(
				$type,
				array(
					'public'       => true,
					'label'        => $type,
					'show_in_rest' => false,
					'rewrite'      => array( 'slug' => $type ),
				)
			);
		}
	}
);

function learndash_is_admin_user( $user = null ) {
	$user = $user ? $user : get_current_user_id();
	return $user && user_can( $user, 'manage_options' );
}

/** The course a step belongs to (LearnDash keeps it as the step's course_id meta). */
function learndash_get_course_id( $post = null ) {
	$post = get_post( $post );
	if ( ! $post ) {
		return 0;
	}
	return 'sfwd-courses' === $post->post_type ? (int) $post->ID : (int) get_post_meta( $post->ID, 'course_id', true );
}

function learndash_get_users_group_ids( $user_id = 0 ) {
	$ids = array();
	foreach ( array_keys( (array) get_user_meta( (int) $user_id ) ) as $key ) {
		if ( preg_match( '/^learndash_group_users_(\d+)$/', $key, $m ) ) {
			$ids[] = (int) $m[1];
		}
	}
	return $ids;
}

function learndash_group_enrolled_courses( $group_id = 0 ) {
	return array_map(
		'intval',
		get_posts(
			array(
				'post_type'   => 'sfwd-courses',
				'fields'      => 'ids',
				'numberposts' => -1,
				'meta_key'    => 'learndash_group_enrolled_' . (int) $group_id, // phpcs:ignore WordPress.DB.SlowDBQuery
			)
		)
	);
}

/** LearnDash's access check: open courses, direct enrollment, or a group; then its filter. */
function sfwd_lms_has_access( $post_id, $user_id = null ) {
	$user_id   = $user_id ? (int) $user_id : get_current_user_id();
	$course_id = learndash_get_course_id( $post_id );
	$access    = false;
	if ( $course_id ) {
		if ( 'open' === get_post_meta( $course_id, 'price_type', true ) ) {
			$access = true;
		} elseif ( $user_id && '' !== (string) get_user_meta( $user_id, 'course_' . $course_id . '_access_from', true ) ) {
			$access = true;
		} elseif ( $user_id ) {
			foreach ( learndash_get_users_group_ids( $user_id ) as $group_id ) {
				if ( in_array( $course_id, learndash_group_enrolled_courses( $group_id ), true ) ) {
					$access = true;
				}
			}
		}
	}
	return apply_filters( 'sfwd_lms_has_access', $access, $post_id, $user_id );
}

/** Enrolling writes access_from = now only when it is empty; unenrolling deletes it (progress stays). */
function ld_update_course_access( $user_id, $course_id, $remove = false ) {
	$key = 'course_' . (int) $course_id . '_access_from';
	if ( $remove ) {
		delete_user_meta( $user_id, $key );
	} elseif ( '' === (string) get_user_meta( $user_id, $key, true ) ) {
		update_user_meta( $user_id, $key, time() );
	} else {
		return false;
	}
	do_action( 'learndash_update_course_access', (int) $user_id, (int) $course_id, array(), $remove );
	return true;
}

function ld_update_group_access( $user_id, $group_id, $remove = false ) {
	$key = 'learndash_group_users_' . (int) $group_id;
	if ( $remove ) {
		delete_user_meta( $user_id, $key );
		do_action( 'ld_removed_group_access', (int) $user_id, (int) $group_id );
	} else {
		update_user_meta( $user_id, $key, (int) $group_id );
		do_action( 'ld_added_group_access', (int) $user_id, (int) $group_id );
	}
	return true;
}

function ld_update_leader_group_access( $user_id, $group_id, $remove = false ) {
	$key = 'learndash_group_leaders_' . (int) $group_id;
	if ( $remove ) {
		delete_user_meta( $user_id, $key );
		do_action( 'ld_removed_leader_group_access', (int) $user_id, (int) $group_id );
	} else {
		update_user_meta( $user_id, $key, (int) $group_id );
		do_action( 'ld_added_leader_group_access', (int) $user_id, (int) $group_id );
	}
	return true;
}

/** The course's steps as LearnDash builds its navigation: from the course's ld_course_steps meta. */
function learndash_get_course_steps( $course_id ) {
	$steps = get_post_meta( (int) $course_id, 'ld_course_steps', true );
	$ids   = array();
	$walk  = function ( $tree ) use ( &$walk, &$ids ) {
		foreach ( (array) $tree as $type => $steps ) {
			foreach ( (array) $steps as $id => $children ) {
				$ids[] = (int) $id;
				$walk( $children );
			}
		}
	};
	$walk( $steps['steps']['h'] ?? array() );
	return $ids;
}

function learndash_can_user_read_step( $step_id, $course_id = 0 ) {
	return apply_filters( 'learndash_can_user_read_step', true, (int) $step_id, (int) $course_id );
}

function learndash_course_step_attributes( $step_id, $course_id, $user_id ) {
	return apply_filters( 'learndash_course_step_attributes', array(), (int) $step_id, (int) $course_id, (int) $user_id );
}

/** LearnDash REST v2's enrollment routes, as far as the tests use them (per-item results, 200). */
add_action(
	'rest_api_init',
	function () {
		foreach ( array( 'courses', 'groups' ) as $what ) {
			register_rest_route(
				'ldlms/v2',
				'/users/(?P<id>\d+)/' . $what,
				array(
					'methods'             => array( 'POST', 'DELETE' ),
					'permission_callback' => function () {
						return learndash_is_admin_user() ? true : new WP_Error( 'ld_rest_cannot_view', 'Sorry, you are not allowed to view this item.', array( 'status' => rest_authorization_required_code() ) );
					},
					'callback'            => function ( WP_REST_Request $request ) use ( $what ) {
						$user_id = (int) $request['id'];
						$remove  = 'DELETE' === $request->get_method();
						$key     = 'courses' === $what ? 'course_ids' : 'group_ids';
						$out     = array();
						foreach ( (array) $request->get_param( $key ) as $id ) {
							$done  = 'courses' === $what ? ld_update_course_access( $user_id, (int) $id, $remove ) : ld_update_group_access( $user_id, (int) $id, $remove );
							$out[] = array(
								rtrim( $key, 's' ) => (int) $id,
								'status'           => $done ? 'success' : 'failed',
							);
						}
						return new WP_REST_Response( $out, 200 );
					},
				)
			);
		}
	}
);
